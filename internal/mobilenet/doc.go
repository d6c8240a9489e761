// Package mobilenet builds MobileNetV2 networks with seeded random weights and
// writes them as ONNX models in the shapes that real exporters produce.
//
// The project's tests cannot download the ONNX Model Zoo, so they run on these
// instead. Each Flavour reproduces the graph structure of one family of real
// files, down to the operators around the pooled features: the torchvision
// exports of the zoo's mobilenetv2-10/-12, the MXNet export of mobilenetv2-7,
// tf2onnx Keras exports before and from opset 18, and keras2onnx exports. The
// body is the real MobileNetV2 topology: a stride-2 stem convolution, 17
// inverted-residual blocks with depthwise convolutions, ReLU6 as Clip,
// residual Adds, a 1x1 convolution to the last channel count (1280 at width
// 1), global average pooling and a classifier.
//
// Net.Forward evaluates the same network in plain Go (float64 accumulation),
// so a test can compare what ONNX Runtime computes from the written graph with
// an independent reference.
package mobilenet
