// Package report draws the pictures of training and evaluation as PNG files
// with gonum/plot: learning curves (loss and accuracy per epoch, training and
// validation) and confusion matrices as heat maps with counts.
package report
