// Package onnxgraph reads, analyses and writes ONNX models as protobuf
// messages, without running them.
//
// It is the one place that knows the ONNX file format: the backbone package
// uses it to find the pooled feature tensor of a classifier and to expose it
// as a graph output, the models package to cut a backbone and append a
// trained head, and the test-model builders to emit whole networks.
//
// A Model keeps both the parsed message and the bytes it was read from, so
// that an unmodified model can be handed to ONNX Runtime without being
// re-encoded. Every function that edits a graph works on the message and
// never on the original bytes; Marshal encodes the edited result.
//
// Tensors stored in external files (TensorProto.data_location EXTERNAL) are
// refused with ErrExternalData: the edited model is given to ONNX Runtime as
// bytes, and bytes have no directory to resolve external files against.
package onnxgraph
