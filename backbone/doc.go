// Package backbone runs a frozen ONNX image model through ONNX Runtime and
// returns its embeddings: the pooled features its classifier reads.
//
// # The embedding cut
//
// Open (or OpenModel, for a model already read) analyses the graph before
// ONNX Runtime sees it. DiscoverFeatures finds the output of a
// GlobalAveragePool, or of a ReduceMean over both spatial axes, followed by
// any chain of Flatten, Squeeze, Reshape, Identity or Dropout, that feeds a
// classifier (Gemm, MatMul, a 1x1 Conv) or is itself a graph output; with
// several such chains the last one wins. Options.EmbeddingOutput names the
// tensor instead. That tensor becomes an extra graph output, so one run
// gives the embedding and, when the model has one, the original classifier's
// output (Result.Logits). Analyze does all of this without ONNX Runtime and
// returns the Info that Open would: input layout and size, preprocessing and
// why it was chosen, embedding tensor and dimension, and the fingerprint
// that caches and heads key embeddings by (the model's bytes, tensor,
// preprocessing, layout and input size).
//
// # Tensors and layouts
//
// A batch is n preprocessed images back to back, Info.InputLen() float32
// values each, in the model's layout: NCHW (channel planes, as PyTorch
// exports) or NHWC (interleaved, as Keras and TensorFlow export). A Filler
// turns an 8-bit RGB image of the input size into one image's values with
// the model's preprocessing (Keras' x/127.5-1, torchvision's ImageNet
// mean/std, or x/255); dataset.Prepare makes such images from files. Run
// returns one embedding of Info.Dim values per image, and the logits when
// the model has a classifier. A model with a fixed batch size takes any
// number of images: the last chunk is padded and the padding dropped.
//
// # Lifetimes
//
// ONNX Runtime is a shared library loaded once per process, by the first
// Open (or LoadRuntime): from Options.LibraryPath, $ONNXRUNTIME_LIB, the
// per-user cache that scripts/install-onnxruntime.sh fills, or the system's
// library path (FindLibrary). A process uses one library; UnloadRuntime
// releases it after every Backbone is destroyed. A Backbone owns an ONNX
// Runtime session and the input and output tensors it reuses across
// batches; Destroy releases them and must be called once the Backbone is no
// longer used, as onnxruntime_go's objects must. A Classifier (an exported
// model, see package models) is the same: open, use, Destroy.
//
// # Concurrency
//
// Run and Embed are safe for concurrent use. Each call borrows a set of
// input and output tensors for its batch size (and copies the batch in), so
// concurrent batches never share memory. ONNX Runtime parallelises one batch over
// Options.Threads intra-op threads (default: one per core); several
// single-threaded Runs in flight use the cores instead, which measured no
// faster on two cores (BENCHMARKS.md). Cancelling Run's context stops ONNX
// Runtime at once (RunOptions.Terminate); the batch's results are lost.
//
// # Devices
//
// Options.Device selects the CPU or CUDA (ParseDevice reads "cpu",
// "cuda", "cuda:1"). CUDA needs the GPU build of ONNX Runtime; when the
// library, CUDA, cuDNN or the GPU is missing, Open fails with
// ErrCUDAUnavailable and says which, and never falls back to the CPU.
package backbone
