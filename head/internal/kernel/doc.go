// Package kernel holds the head's arithmetic on float32 embeddings: the
// logits of one row against every class (Dots), the kernel's gradient over
// a block of rows (Outer), and Adam's update of float64 master weights
// (Adam). Each has a plain Go implementation and, on amd64, two assembly
// ones, AVX-512 and AVX2 with FMA, the best the machine runs chosen at run
// time (Name says which); the build tag purego forces the Go ones
// everywhere.
//
// The shapes are those of a softmax head whose kernel is kept transposed,
// C×D: a row's logits are C dot products of D values, long unit-stride
// loops, where a GEMM of a batch by a D×C kernel with C = 10 would spend
// its time in loops of length 10. The assembly reads a row once for four
// classes, so the row, not the kernel, is what streams through the cores.
//
// Results are deterministic for one implementation: sums run in a fixed
// order. The Go and assembly Dots and Outer sum in different orders, so they
// agree to float32 rounding, not bitwise; Adam is bitwise equal in both,
// since it uses no fused operations.
package kernel
