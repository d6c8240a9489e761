// Package head trains and runs the classifier that sits on a frozen
// backbone: one dense layer with a softmax output, trained with Adam on
// sparse categorical cross-entropy, with the semantics and defaults of Keras'
// Dense(units, activation="softmax") compiled with optimizer="adam" and
// loss="sparse_categorical_crossentropy".
//
// # Data
//
// A Data holds N embeddings as the rows of an N×D float32 matrix
// (row-major, one embedding per row; NewMatrix and Matrix make one) and N
// integer labels in [0, Classes). Inputs are never modified. float32 is
// what backbones give and what Keras trains in, at half the memory of
// float64.
//
// # Precision
//
// Adam's products (logits and the kernel's gradient) run in float32, as
// Keras' do; the weights, Adam's moments, the softmax and the loss are
// float64. L-BFGS computes its products in float64 from the float32 rows,
// since its line search and tolerance look below float32's resolution;
// from a tolerance of 1e-5 on, where they do not, in float32.
// On amd64 the products run in assembly (AVX-512, or AVX2 with FMA) chosen
// at run time, elsewhere (and with the build tag purego) in plain Go; these
// sum in different orders, so heads trained with each agree to float32
// rounding, not to the bit.
//
// # Model
//
// For an embedding x (a row vector of D values) the head computes
//
//	logits = x·W + b,    p = softmax(logits)
//
// with W of shape D×C (the Keras kernel layout) and b of length C. NewDense
// initialises W Glorot-uniformly, U(-l, l) with l = sqrt(6/(D+C)), and b to
// zero, as Keras' Dense does.
//
// # Loss
//
// The loss of one sample with label y is the cross-entropy of the softmax,
// computed from the logits with log-sum-exp so that it stays finite for any
// finite logits:
//
//	loss = log Σ_j exp(logits_j) − logits_y
//
// A batch's loss is the mean over its samples (each multiplied by its class
// weight, if any, and divided by the batch size, as Keras does), plus
// l2·Σ W² when L2 regularisation is on (the bias is not regularised).
//
// # Optimiser
//
// Adam as Keras applies it: at step t,
//
//	m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²
//	w ← w − lr·sqrt(1−β2^t)/(1−β1^t) · m/(sqrt(v) + ε)
//
// with Keras' defaults lr=0.001, β1=0.9, β2=0.999, ε=1e-7.
//
// # Training
//
// Train runs mini-batches of 32 (the last one smaller), reshuffled every
// epoch. The epoch's loss and accuracy are averages over its batches as they
// were trained, which is what Keras prints; validation metrics use the
// weights at the end of the epoch. All randomness (initial weights and
// shuffles) comes from Options.Seed, so equal seeds give bitwise equal
// weights on one machine, whatever Options.Threads is.
package head
