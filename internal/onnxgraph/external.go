package onnxgraph

import (
	"fmt"

	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// checkExternal refuses a model that stores any tensor outside the file:
// initializers, sparse initializers, Constant and other node attributes,
// subgraphs of control-flow nodes, functions and training graphs alike.
// ONNX Runtime resolves external locations against the working directory
// of a model loaded from bytes, so an accepted one would read whatever
// file it names.
func checkExternal(mp *onnx.ModelProto) error {
	if err := externalInGraph(mp.GetGraph(), "graph"); err != nil {
		return err
	}
	for _, f := range mp.GetFunctions() {
		if err := externalInNodes(f.GetNode(), "function "+f.GetName()); err != nil {
			return err
		}
	}
	for i, ti := range mp.GetTrainingInfo() {
		for _, g := range []*onnx.GraphProto{ti.GetInitialization(), ti.GetAlgorithm()} {
			if err := externalInGraph(g, fmt.Sprintf("training info %d", i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func externalInGraph(g *onnx.GraphProto, where string) error {
	if g == nil {
		return nil
	}
	for _, t := range g.GetInitializer() {
		if err := externalTensor(t, where+", initializer"); err != nil {
			return err
		}
	}
	for _, st := range g.GetSparseInitializer() {
		if err := externalSparse(st, where+", sparse initializer"); err != nil {
			return err
		}
	}
	return externalInNodes(g.GetNode(), where)
}

func externalInNodes(nodes []*onnx.NodeProto, where string) error {
	for _, n := range nodes {
		at := fmt.Sprintf("%s, node %q (%s)", where, n.GetName(), n.GetOpType())
		for _, a := range n.GetAttribute() {
			aw := at + ", attribute " + a.GetName()
			if err := externalTensor(a.GetT(), aw); err != nil {
				return err
			}
			for _, t := range a.GetTensors() {
				if err := externalTensor(t, aw); err != nil {
					return err
				}
			}
			if err := externalSparse(a.GetSparseTensor(), aw); err != nil {
				return err
			}
			for _, st := range a.GetSparseTensors() {
				if err := externalSparse(st, aw); err != nil {
					return err
				}
			}
			if err := externalInGraph(a.GetG(), aw); err != nil {
				return err
			}
			for _, g := range a.GetGraphs() {
				if err := externalInGraph(g, aw); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func externalSparse(st *onnx.SparseTensorProto, where string) error {
	if st == nil {
		return nil
	}
	if err := externalTensor(st.GetValues(), where); err != nil {
		return err
	}
	return externalTensor(st.GetIndices(), where)
}

func externalTensor(t *onnx.TensorProto, where string) error {
	if t == nil || (t.GetDataLocation() != onnx.TensorProto_EXTERNAL && len(t.GetExternalData()) == 0) {
		return nil
	}
	location := ""
	for _, kv := range t.GetExternalData() {
		if kv.GetKey() == "location" {
			location = kv.GetValue()
		}
	}
	return fmt.Errorf("%w (tensor %q in %s, stored in %q): save the model with all tensors inside the .onnx file", ErrExternalData, t.GetName(), where, location)
}
