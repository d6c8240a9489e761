package onnxgraph

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// ErrNotONNX reports bytes that do not decode as an ONNX model with a graph.
var ErrNotONNX = errors.New("not an ONNX model")

// ErrExternalData reports a model whose weights live in files beside it.
var ErrExternalData = errors.New("model stores tensors in external data files")

// Model is a parsed ONNX model together with the bytes it came from.
type Model struct {
	// Proto is the decoded model. Editing it does not change Bytes.
	Proto *onnx.ModelProto
	// Bytes is the encoded model as read; nil for models built in memory.
	Bytes []byte
	// SHA256 is the hex digest of Bytes (of the encoding, for built models).
	SHA256 string
}

// ReadFile reads and parses the ONNX model at path.
func ReadFile(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse decodes an ONNX model. It fails with ErrNotONNX for bytes that are
// not a model with a non-empty graph (a truncated file usually fails here),
// and with ErrExternalData for models whose tensors live in other files.
func Parse(b []byte) (*Model, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrNotONNX)
	}
	mp := &onnx.ModelProto{}
	if err := proto.Unmarshal(b, mp); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotONNX, err)
	}
	g := mp.GetGraph()
	if g == nil || len(g.GetNode()) == 0 || len(mp.GetOpsetImport()) == 0 {
		return nil, fmt.Errorf("%w: no graph or no opset (is the file truncated?)", ErrNotONNX)
	}
	if err := checkExternal(mp); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return &Model{Proto: mp, Bytes: b, SHA256: hex.EncodeToString(sum[:])}, nil
}

// Marshal encodes m.Proto, including any edits made to it.
func (m *Model) Marshal() ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m.Proto)
}

// Opset returns the version of the default ("" or "ai.onnx") operator set,
// or 0 when the model imports none.
func (m *Model) Opset() int64 {
	return Opset(m.Proto)
}

// Opset returns the default-domain opset version of mp, or 0.
func Opset(mp *onnx.ModelProto) int64 {
	for _, o := range mp.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			return o.GetVersion()
		}
	}
	return 0
}

// Clone returns a deep copy of m whose Proto can be edited freely.
func (m *Model) Clone() *Model {
	return &Model{Proto: proto.Clone(m.Proto).(*onnx.ModelProto), Bytes: m.Bytes, SHA256: m.SHA256}
}
