// Package inference is the Open Inference Protocol's gRPC service
// (inference.GRPCInferenceService) as KServe's grpc_predict_v2.proto
// defines it: the messages, a client and the server interface, generated
// by protoc-gen-go and protoc-gen-go-grpc. transfer serve --grpc-addr
// serves it; a Go program can call it with NewGRPCInferenceServiceClient.
//
// The .proto is KServe's, unchanged (Apache License 2.0, its header says
// so); the Go import path is given to protoc on the command line.
package inference

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go_opt=Mgrpc_predict_v2.proto=github.com/transfer-go/transfer/serve/inference --go-grpc_out=. --go-grpc_opt=paths=source_relative --go-grpc_opt=Mgrpc_predict_v2.proto=github.com/transfer-go/transfer/serve/inference grpc_predict_v2.proto
