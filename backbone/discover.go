package backbone

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// ErrNoEmbedding reports a model in which no pooled feature tensor was found.
var ErrNoEmbedding = errors.New("no pooled feature tensor found")

// Features says where a model's embedding is and how it was found.
type Features struct {
	// Tensor is the embedding tensor: the last tensor of the pooling chain,
	// the one the classifier reads.
	Tensor string
	// Pooling is the name and operator of the pooling node, e.g.
	// "GlobalAveragePool_0 (GlobalAveragePool)"; empty when the tensor was
	// named by the caller.
	Pooling string
	// Classifier is the node that reads Tensor ("dense_1 (Gemm)"), or ""
	// when the tensor is itself a graph output (a headless feature model).
	Classifier string
	// Dim is the embedding dimension read from the classifier's weights,
	// or 0 when the weights do not say (Open then measures it).
	Dim int
}

// DiscoverFeatures finds the pooled feature tensor of a classification
// network: the output of a GlobalAveragePool, or of a ReduceMean over the two
// spatial axes, possibly followed by Flatten, Squeeze, Reshape, Identity or
// Dropout, that feeds a classifier (Gemm, MatMul, or a 1x1 Conv) or is itself
// a graph output. Among several such chains it takes the last in graph order,
// the one nearest the output.
//
// When none exists the error wraps ErrNoEmbedding and lists the tensors a user
// might name instead with Options.EmbeddingOutput.
func DiscoverFeatures(g *onnx.GraphProto) (Features, error) {
	ix := onnxgraph.NewIndex(g)
	var best *Features
	bestPos := -1
	for _, n := range g.GetNode() {
		if !isPooling(n, ix) {
			continue
		}
		f, ok := followPooled(n, ix)
		if !ok {
			continue
		}
		if p := ix.Position(n); p > bestPos {
			bestPos, best = p, &f
		}
	}
	if best != nil {
		return *best, nil
	}
	return Features{}, fmt.Errorf("%w: no GlobalAveragePool or spatial ReduceMean feeds a Gemm, MatMul or 1x1 Conv classifier%s", ErrNoEmbedding, candidateList(ix))
}

// isPooling reports whether n averages away the spatial axes of a 4-D tensor.
func isPooling(n *onnx.NodeProto, ix *onnxgraph.Index) bool {
	switch n.GetOpType() {
	case "GlobalAveragePool":
		return true
	case "ReduceMean":
		axes := onnxgraph.AttrInts(n, "axes")
		if len(n.GetInput()) > 1 && n.GetInput()[1] != "" {
			t := ix.Initializer(n.GetInput()[1])
			if t == nil {
				return false
			}
			var err error
			if axes, err = onnxgraph.Ints(t); err != nil {
				return false
			}
		}
		if len(axes) != 2 {
			return false
		}
		a := []int64{norm4(axes[0]), norm4(axes[1])}
		sort.Slice(a, func(i, j int) bool { return a[i] < a[j] })
		// H,W of NCHW are axes 2,3; of NHWC 1,2.
		return (a[0] == 2 && a[1] == 3) || (a[0] == 1 && a[1] == 2)
	}
	return false
}

func norm4(axis int64) int64 {
	if axis < 0 {
		return axis + 4
	}
	return axis
}

// followPooled walks from a pooling node through reshaping nodes to the
// classifier that reads the features.
func followPooled(pool *onnx.NodeProto, ix *onnxgraph.Index) (Features, bool) {
	f := Features{Pooling: describe(pool)}
	cur := pool.GetOutput()[0]
	for steps := 0; steps < 8; steps++ {
		var next []*onnx.NodeProto
		for _, c := range ix.Consumers(cur) {
			// Shape reads only the shape (torchvision's dynamic flatten).
			if c.GetOpType() != "Shape" {
				next = append(next, c)
			}
		}
		if ix.IsOutput(cur) && len(next) == 0 {
			f.Tensor = cur
			return f, true
		}
		if len(next) != 1 || next[0].GetInput()[0] != cur {
			return f, false
		}
		c := next[0]
		switch c.GetOpType() {
		case "Flatten", "Squeeze", "Reshape", "Identity", "Dropout":
			cur = c.GetOutput()[0]
			continue
		case "Gemm", "MatMul":
			f.Tensor, f.Classifier = cur, describe(c)
			f.Dim = classifierInputs(c, ix)
			return f, true
		case "Conv":
			if k := onnxgraph.AttrInts(c, "kernel_shape"); len(k) == 2 && k[0] == 1 && k[1] == 1 {
				f.Tensor, f.Classifier = cur, describe(c)
				f.Dim = classifierInputs(c, ix)
				return f, true
			}
			if w := ix.Initializer(c.GetInput()[1]); w != nil && len(w.GetDims()) == 4 && w.GetDims()[2] == 1 && w.GetDims()[3] == 1 {
				f.Tensor, f.Classifier = cur, describe(c)
				f.Dim = int(w.GetDims()[1])
				return f, true
			}
		}
		return f, false
	}
	return f, false
}

// classifierInputs reads the input width of a classifier from its weights,
// or returns 0 when the weights are not constants.
func classifierInputs(c *onnx.NodeProto, ix *onnxgraph.Index) int {
	if len(c.GetInput()) < 2 {
		return 0
	}
	w := ix.Initializer(c.GetInput()[1])
	if w == nil {
		return 0
	}
	d := w.GetDims()
	switch c.GetOpType() {
	case "Gemm":
		if len(d) != 2 {
			return 0
		}
		if onnxgraph.AttrInt(c, "transB", 0) != 0 {
			return int(d[1])
		}
		return int(d[0])
	case "MatMul":
		if len(d) != 2 {
			return 0
		}
		return int(d[0])
	case "Conv":
		if len(d) != 4 {
			return 0
		}
		return int(d[1])
	}
	return 0
}

func describe(n *onnx.NodeProto) string {
	if n.GetName() == "" {
		return n.GetOpType()
	}
	return fmt.Sprintf("%s (%s)", n.GetName(), n.GetOpType())
}

// candidateList names the tensors that could plausibly be features: outputs
// of pooling and flattening nodes and inputs of dense layers.
func candidateList(ix *onnxgraph.Index) string {
	var c []string
	seen := map[string]bool{}
	add := func(name, why string) {
		if name != "" && !seen[name] && ix.Initializer(name) == nil {
			seen[name] = true
			c = append(c, fmt.Sprintf("%s (%s)", name, why))
		}
	}
	for _, n := range ix.Graph.GetNode() {
		switch n.GetOpType() {
		case "GlobalAveragePool", "GlobalMaxPool", "AveragePool", "MaxPool", "ReduceMean", "ReduceMax", "Flatten":
			add(n.GetOutput()[0], "output of "+n.GetOpType())
		case "Gemm", "MatMul":
			add(n.GetInput()[0], "input of "+n.GetOpType())
		}
	}
	if len(c) == 0 {
		return " (the model has no pooling, flattening or dense layers)"
	}
	const most = 12
	if len(c) > most {
		c = append([]string{"..."}, c[len(c)-most:]...)
	}
	return "; candidates: " + strings.Join(c, ", ")
}
