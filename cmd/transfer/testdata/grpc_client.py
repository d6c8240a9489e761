"""An Open Inference Protocol gRPC client independent of transfer's Go code.

It generates its stubs from grpc_predict_v2.proto with grpcio-tools
(Debian's python3-grpc-tools), calls every RPC of
inference.GRPCInferenceService on ADDR, and prints what it got as JSON.

    python3 grpc_client.py PROTO ADDR MODEL IMAGE
"""
import importlib
import json
import os
import struct
import sys
import tempfile

from grpc_tools import protoc
import grpc

proto, addr, model, image = sys.argv[1:5]
out = tempfile.mkdtemp()
include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
if protoc.main(["protoc", "-I" + os.path.dirname(proto), "-I" + include,
                "--python_out=" + out, "--grpc_python_out=" + out, os.path.basename(proto)]) != 0:
    sys.exit("protoc failed")
sys.path.insert(0, out)
pb = importlib.import_module("grpc_predict_v2_pb2")
rpc = importlib.import_module("grpc_predict_v2_pb2_grpc")

stub = rpc.GRPCInferenceServiceStub(grpc.insecure_channel(addr))
got = {}
got["live"] = stub.ServerLive(pb.ServerLiveRequest()).live
got["ready"] = stub.ServerReady(pb.ServerReadyRequest()).ready
got["model_ready"] = stub.ModelReady(pb.ModelReadyRequest(name=model, version="1")).ready
meta = stub.ServerMetadata(pb.ServerMetadataRequest())
got["server"] = {"name": meta.name, "version": meta.version, "extensions": list(meta.extensions)}
m = stub.ModelMetadata(pb.ModelMetadataRequest(name=model))
got["model"] = {"name": m.name, "inputs": [[t.name, t.datatype, list(t.shape)] for t in m.inputs],
                "outputs": [[t.name, t.datatype, list(t.shape)] for t in m.outputs]}

data = open(image, "rb").read()
# BYTES in typed contents, then as raw_input_contents (4-byte length, bytes).
req = pb.ModelInferRequest(model_name=model, inputs=[pb.ModelInferRequest.InferInputTensor(
    name="images", datatype="BYTES", shape=[1], contents=pb.InferTensorContents(bytes_contents=[data]))])
r = stub.ModelInfer(req)
got["probs"] = list(r.outputs[0].contents.fp32_contents)
raw = pb.ModelInferRequest(model_name=model, inputs=[pb.ModelInferRequest.InferInputTensor(
    name="images", datatype="BYTES", shape=[1, 1])], raw_input_contents=[struct.pack("<I", len(data)) + data])
raw.outputs.add(name="probabilities").parameters["classification"].int64_param = 1
r = stub.ModelInfer(raw)
b = r.raw_output_contents[0]
n = struct.unpack("<I", b[:4])[0]
got["top"] = b[4:4 + n].decode()
try:
    stub.ModelInfer(pb.ModelInferRequest(model_name="no-such-model"))
    got["unknown_model"] = "OK"
except grpc.RpcError as e:
    got["unknown_model"] = e.code().name
print(json.dumps(got))
