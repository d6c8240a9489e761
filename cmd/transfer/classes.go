package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/experiment"
)

// Class-size thresholds for warnings: a class this small, or this many
// times smaller than the largest, is more often a misspelled folder or a
// mistaken label rule than a real class.
const (
	smallClass   = 5
	imbalanceMax = 10
)

// checkClasses refuses label sets that cannot train a classifier, or cannot
// be split as asked, before any training: fewer than two classes with
// images, a class without images, a class with fewer images than folds (or
// than two, for a split). It warns of classes that are suspiciously small.
// counts are the usable images per class, after failed images are left
// out.
func checkClasses(c *cli.Context, stderr io.Writer, classes []string, counts []int, p experiment.Protocol) error {
	largest := slices.Max(append([]int{0}, counts...))
	listing := describeCounts(classes, counts)
	for i, n := range counts {
		if n == 0 {
			return usageError{fmt.Errorf("class %q has no usable images (%s): check the folder or the --label-regex/--classes rule, or leave the class out", classes[i], listing)}
		}
	}
	// Every class has images from here on.
	if len(counts) < 2 {
		return usageError{fmt.Errorf("only one class has images (%s): a classifier needs at least two classes", listing)}
	}
	need, why := 1, ""
	switch p.Kind {
	case experiment.CrossValidation:
		need, why = p.Folds, fmt.Sprintf("--cv %d puts an image of each class in every fold", p.Folds)
	case experiment.HoldOut:
		need, why = 2, "--val-split needs an image of each class on both sides"
	case experiment.LastPerClass:
		need, why = p.Last+1, fmt.Sprintf("--val-last %d holds out %d images of each class and needs one more to train on", p.Last, p.Last)
	}
	for i, n := range counts {
		if n < need {
			return usageError{fmt.Errorf("class %q has %s, fewer than %d: %s (%s)", classes[i], nImages(n), need, why, listing)}
		}
	}
	// One warning of each kind, however many classes it concerns: 500
	// one-image classes printed 500 warnings, each with every count.
	var small, imbalanced []int
	for i, n := range counts {
		switch {
		case n < smallClass:
			small = append(small, i)
		case n*imbalanceMax < largest:
			imbalanced = append(imbalanced, i)
		}
	}
	switch {
	case len(small) == 1:
		i := small[0]
		fmt.Fprintf(stderr, "warning: class %q has only %s (%s): a misspelled folder or label?\n", classes[i], nImages(counts[i]), listing)
	case len(small) > 1:
		fmt.Fprintf(stderr, "warning: %d classes have fewer than %d images (%s): misspelled folders or labels?\n", len(small), smallClass, describeSome(classes, counts, small))
	}
	switch {
	case len(imbalanced) == 1:
		i := imbalanced[0]
		fmt.Fprintf(stderr, "warning: class %q has %d images, over %d times fewer than the largest (%s); consider --class-weight balanced\n", classes[i], counts[i], imbalanceMax, listing)
	case len(imbalanced) > 1:
		fmt.Fprintf(stderr, "warning: %d classes have over %d times fewer images than the largest, %d (%s); consider --class-weight balanced\n", len(imbalanced), imbalanceMax, largest, describeSome(classes, counts, imbalanced))
	}
	return nil
}

// listedClasses bounds how many classes a message lists by name.
const listedClasses = 12

// describeCounts lists "female 20, male 0", the first listedClasses
// classes by name and how many more.
func describeCounts(classes []string, counts []int) string {
	all := make([]int, len(classes))
	for i := range all {
		all[i] = i
	}
	return describeSome(classes, counts, all)
}

// describeSome is describeCounts of the classes at indices idx.
func describeSome(classes []string, counts []int, idx []int) string {
	var parts []string
	for _, i := range idx[:min(len(idx), listedClasses)] {
		parts = append(parts, fmt.Sprintf("%s %d", classes[i], counts[i]))
	}
	if more := len(idx) - listedClasses; more > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(parts, ", ")
}

// nImages writes "1 image" or "n images".
func nImages(n int) string {
	if n == 1 {
		return "1 image"
	}
	return fmt.Sprintf("%d images", n)
}
