// Package quant turns a float32 ONNX backbone into a statically quantised
// int8 one in ONNX's QDQ form: QuantizeLinear/DequantizeLinear pairs around
// the activations of every convolution and residual addition, per-channel
// int8 weights and int32 biases behind DequantizeLinear. ONNX Runtime fuses
// these patterns into its integer kernels (QLinearConv, QLinearAdd); any other
// runtime still reads the graph as ordinary float arithmetic.
//
// The work is split the way a caller drives it: Prepare brings the graph into
// the form that quantises well (opset 13, batch norms and zero paddings folded
// into the convolutions); NewPlan names the activations whose ranges must be
// measured; a Collector gathers those ranges from float runs on calibration
// images (min/max or a percentile); Apply writes the quantised graph. Running
// the model is the caller's business: this package never loads ONNX Runtime.
//
// Only the part of the graph that computes the pooled feature map is
// quantised. The pooling, the embedding and everything after them stay
// float32, so an embedding is never rounded to eight bits.
package quant
