// Package serve puts a backbone and its trained heads behind HTTP: a JSON
// route for image uploads (/v1/classify), the Open Inference Protocol
// (KServe v2 REST, with Triton's binary tensor data and classification
// extensions), a browser page, and Prometheus metrics; and behind gRPC
// (GRPCServer: the protocol's inference.GRPCInferenceService).
//
// Concurrent requests' images are decoded in parallel, at most one per
// core, and gathered into one backbone batch of up to MaxBatch images or
// MaxDelay, whichever comes first; one ONNX Runtime session runs the
// batches, every head reads the same embeddings. A bounded queue turns
// overload into immediate 503 answers with Retry-After instead of latency.
package serve
