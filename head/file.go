package head

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/transfer-go/transfer/internal/atomicfile"
)

// FileFormat and FileVersion identify head files. A reader refuses versions
// newer than its own.
const (
	FileFormat  = "transfer-head"
	FileVersion = 1
)

// Bounds on what a head file may declare, checked before anything is
// allocated: far above any real head (1280 x 1000 is 1.3 million weights),
// far below a size whose product overflows.
const (
	MaxEmbeddingDim = 1 << 20
	MaxClasses      = 1 << 16
	maxValues       = 1 << 28
)

// ErrBadHeadFile reports a head file that is truncated, edited, of another
// format or of a newer version.
var ErrBadHeadFile = errors.New("not a usable head file")

// ErrBackboneMismatch reports a head used with embeddings from another
// backbone or preprocessing than it was trained on.
var ErrBackboneMismatch = errors.New("head and backbone do not match")

// Provenance records what produced the embeddings a head was trained on.
// Fingerprint and Pixels decide compatibility; the other fields explain it.
type Provenance struct {
	// Fingerprint is the backbone's fingerprint (model bytes, embedding
	// tensor, preprocessing, input size and layout).
	Fingerprint string `json:"fingerprint"`
	// Pixels is the pixel specification (dataset.PixelSpec): resize mode,
	// filter, size and JPEG decoder. Its JSON name is the first version's.
	Pixels string `json:"resize"`
	Model  string `json:"model,omitempty"`
	// Catalogue is the catalogue name of the model, when it is one: the
	// head then finds it in any machine's models folder.
	Catalogue       string `json:"catalogue,omitempty"`
	ModelSHA256     string `json:"model_sha256,omitempty"`
	EmbeddingTensor string `json:"embedding_tensor,omitempty"`
	Preprocess      string `json:"preprocess,omitempty"`
	Layout          string `json:"layout,omitempty"`
	InputSize       [2]int `json:"input_size,omitempty"`
}

// Check returns an error wrapping ErrBackboneMismatch when p (the backbone in
// use) cannot feed a head trained under want.
func (want Provenance) Check(p Provenance) error {
	if want.Fingerprint != p.Fingerprint {
		return fmt.Errorf("%w: the head was trained on embeddings of %s (tensor %s, %s preprocessing, %s %dx%d; fingerprint %.12s) "+
			"but the backbone in use is %s (tensor %s, %s preprocessing, %s %dx%d; fingerprint %.12s); "+
			"use the backbone and settings it was trained with, or retrain the head",
			ErrBackboneMismatch, want.Model, want.EmbeddingTensor, want.Preprocess, want.Layout, want.InputSize[0], want.InputSize[1], want.Fingerprint,
			p.Model, p.EmbeddingTensor, p.Preprocess, p.Layout, p.InputSize[0], p.InputSize[1], p.Fingerprint)
	}
	if want.Pixels != p.Pixels {
		return fmt.Errorf("%w: the head was trained on images resized as %s, not %s",
			ErrBackboneMismatch, want.Pixels, p.Pixels)
	}
	return nil
}

// Model is a trained head with everything needed to use it again.
type Model struct {
	Layer   *Dense
	Classes []string
	Source  Provenance
	// Options are the training options (OnEpoch aside).
	Options Options
	History History
	Created time.Time
	// TrainingImages holds the content hashes (SHA-256, hex) of the
	// images the head trained on, for eval's leakage check. The file keeps
	// their first TrainingKeyLen characters.
	TrainingImages []string
	// Origin names the experiment that chose the head's options, when
	// one did.
	Origin *Origin
}

// Origin records the sweep a head's configuration won.
type Origin struct {
	// Sweep and Run are the runs registry's IDs of the sweep and of the
	// winning configuration's run.
	Sweep         int64  `json:"sweep,omitempty"`
	Run           int64  `json:"run,omitempty"`
	Configuration string `json:"configuration"`
	Protocol      string `json:"protocol"`
	// Metric, Score and SD are the validation figure the configuration
	// won by.
	Metric string  `json:"metric"`
	Score  float64 `json:"score"`
	SD     float64 `json:"sd"`
}

// TrainingKeyLen is how much of each training image's hash a head file
// keeps: 64 bits, enough to tell a data set's images apart at a quarter of
// the bytes.
const TrainingKeyLen = 16

// TrainedOn reports whether the image of content hash sha was among the
// head's training images.
func (m *Model) TrainedOn() func(sha string) bool {
	set := make(map[string]bool, len(m.TrainingImages))
	for _, k := range m.TrainingImages {
		set[trainingKey(k)] = true
	}
	return func(sha string) bool { return set[trainingKey(sha)] }
}

func trainingKey(sha string) string {
	if len(sha) > TrainingKeyLen {
		return sha[:TrainingKeyLen]
	}
	return sha
}

type fileTensor struct {
	Shape []int `json:"shape"`
	// DType is always float64; Data is little-endian IEEE 754, base64.
	DType string `json:"dtype"`
	Data  string `json:"data"`
}

type fileOptions struct {
	Epochs       int       `json:"epochs"`
	BatchSize    int       `json:"batch_size"`
	LearningRate float64   `json:"learning_rate"`
	Beta1        float64   `json:"beta_1"`
	Beta2        float64   `json:"beta_2"`
	Epsilon      float64   `json:"epsilon"`
	L2           float64   `json:"l2"`
	ClassWeights []float64 `json:"class_weights,omitempty"`
	Balanced     bool      `json:"balanced,omitempty"`
	Patience     int       `json:"early_stopping_patience,omitempty"`
	Seed         uint64    `json:"seed"`
	Solver       string    `json:"solver,omitempty"`
	Tol          float64   `json:"tol,omitempty"`
	MaxIter      int       `json:"max_iter,omitempty"`
	Standardize  bool      `json:"standardize,omitempty"`
}

type file struct {
	Format       string      `json:"format"`
	Version      int         `json:"version"`
	Created      time.Time   `json:"created"`
	Classes      []string    `json:"classes"`
	EmbeddingDim int         `json:"embedding_dim"`
	Backbone     Provenance  `json:"backbone"`
	Training     fileOptions `json:"training"`
	History      History     `json:"history"`
	Kernel       fileTensor  `json:"kernel"`
	Bias         fileTensor  `json:"bias"`
	// TrainingImages are the training images' hash prefixes.
	TrainingImages []string `json:"training_images,omitempty"`
	Origin         *Origin  `json:"experiment,omitempty"`
	// Checksum is the SHA-256 of the kernel and bias bytes and the class
	// names; it catches edits to the weights.
	Checksum string `json:"checksum"`
}

func encodeTensor(shape []int, v []float64) fileTensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return fileTensor{Shape: shape, DType: "float64", Data: base64.StdEncoding.EncodeToString(b)}
}

func decodeTensor(t fileTensor, name string) ([]float64, error) {
	if t.DType != "float64" {
		return nil, fmt.Errorf("%s has dtype %q, want float64", name, t.DType)
	}
	n := 1
	for _, d := range t.Shape {
		if d <= 0 || d > maxValues || n > maxValues/d {
			return nil, fmt.Errorf("%s has shape %v", name, t.Shape)
		}
		n *= d
	}
	if base64.StdEncoding.DecodedLen(len(t.Data)) < 8*n-2 || len(t.Data) > base64.StdEncoding.EncodedLen(8*n) {
		return nil, fmt.Errorf("%s has %d characters of data for shape %v (%d values)", name, len(t.Data), t.Shape, n)
	}
	b, err := base64.StdEncoding.DecodeString(t.Data)
	if err != nil {
		return nil, fmt.Errorf("%s data: %v", name, err)
	}
	if len(b) != 8*n {
		return nil, fmt.Errorf("%s has %d bytes of data for shape %v (%d values)", name, len(b), t.Shape, n)
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v, nil
}

func checksum(kernel, bias fileTensor, classes []string) string {
	h := sha256.New()
	h.Write([]byte(kernel.Data))
	h.Write([]byte{0})
	h.Write([]byte(bias.Data))
	for _, c := range classes {
		h.Write([]byte{0})
		h.Write([]byte(c))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Save writes m to path as one JSON file. It writes a temporary file beside
// path and renames it, so an existing head is replaced only by a complete one.
func (m *Model) Save(path string) error {
	d, c := m.Layer.Inputs(), m.Layer.Classes()
	if len(m.Classes) != c {
		return fmt.Errorf("head: %d class names for %d outputs", len(m.Classes), c)
	}
	o := m.Options
	f := file{
		Format: FileFormat, Version: FileVersion, Created: m.Created.UTC().Round(time.Second),
		Classes: m.Classes, EmbeddingDim: d, Backbone: m.Source, History: m.History,
		Training: fileOptions{Epochs: o.Epochs, BatchSize: o.BatchSize, LearningRate: o.LearningRate, Beta1: o.Beta1, Beta2: o.Beta2,
			Epsilon: o.Epsilon, L2: o.L2, ClassWeights: o.ClassWeights, Balanced: o.Balanced, Patience: o.Patience, Seed: o.Seed,
			Solver: o.Solver, Tol: o.Tol, MaxIter: o.MaxIter, Standardize: o.Standardize},
		Kernel: encodeTensor([]int{d, c}, m.Layer.W.RawMatrix().Data),
		Bias:   encodeTensor([]int{c}, m.Layer.B),
	}
	f.Origin = m.Origin
	for _, k := range m.TrainingImages {
		f.TrainingImages = append(f.TrainingImages, trainingKey(k))
	}
	f.Checksum = checksum(f.Kernel, f.Bias, f.Classes)
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o644)
}

// Load reads a head file written by Save and checks its integrity: format,
// version, shapes, checksum and finite weights.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("head file %s: %w", path, err)
	}
	return m, nil
}

// Decode parses a head file's bytes; see Load.
func Decode(b []byte) (*Model, error) {
	var f file
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v (is it truncated?)", ErrBadHeadFile, err)
	}
	switch {
	case f.Format != FileFormat:
		return nil, fmt.Errorf("%w: format %q, want %q", ErrBadHeadFile, f.Format, FileFormat)
	case f.Version > FileVersion:
		return nil, fmt.Errorf("%w: version %d was written by a newer transfer (this one reads up to %d); upgrade transfer", ErrBadHeadFile, f.Version, FileVersion)
	case f.Version < 1:
		return nil, fmt.Errorf("%w: version %d", ErrBadHeadFile, f.Version)
	}
	c := len(f.Classes)
	if c < 1 || f.EmbeddingDim < 1 || c > MaxClasses || f.EmbeddingDim > MaxEmbeddingDim || f.EmbeddingDim*c > maxValues {
		return nil, fmt.Errorf("%w: %d classes, embedding dimension %d (at most %d classes, %d dimensions and %d weights)",
			ErrBadHeadFile, c, f.EmbeddingDim, MaxClasses, MaxEmbeddingDim, maxValues)
	}
	if len(f.Kernel.Shape) != 2 || f.Kernel.Shape[0] != f.EmbeddingDim || f.Kernel.Shape[1] != c || len(f.Bias.Shape) != 1 || f.Bias.Shape[0] != c {
		return nil, fmt.Errorf("%w: kernel shape %v and bias shape %v do not fit %d-d embeddings and %d classes", ErrBadHeadFile, f.Kernel.Shape, f.Bias.Shape, f.EmbeddingDim, c)
	}
	seen := map[string]bool{}
	for _, name := range f.Classes {
		if name == "" || seen[name] {
			return nil, fmt.Errorf("%w: class names %q are not distinct and non-empty", ErrBadHeadFile, f.Classes)
		}
		seen[name] = true
	}
	if got := checksum(f.Kernel, f.Bias, f.Classes); got != f.Checksum {
		return nil, fmt.Errorf("%w: checksum mismatch: the weights or class names were changed after the file was saved", ErrBadHeadFile)
	}
	w, err := decodeTensor(f.Kernel, "kernel")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadHeadFile, err)
	}
	bias, err := decodeTensor(f.Bias, "bias")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadHeadFile, err)
	}
	if !finite(w) || !finite(bias) {
		return nil, fmt.Errorf("%w: weights contain NaN or infinite values", ErrBadHeadFile)
	}
	t := f.Training
	return &Model{
		Layer: &Dense{W: mat.NewDense(f.EmbeddingDim, c, w), B: bias}, Classes: f.Classes, Source: f.Backbone, History: f.History, Created: f.Created,
		TrainingImages: f.TrainingImages, Origin: f.Origin,
		Options: Options{Epochs: t.Epochs, BatchSize: t.BatchSize, LearningRate: t.LearningRate, Beta1: t.Beta1, Beta2: t.Beta2, Epsilon: t.Epsilon,
			L2: t.L2, ClassWeights: t.ClassWeights, Balanced: t.Balanced, Patience: t.Patience, Seed: t.Seed,
			Solver: t.Solver, Tol: t.Tol, MaxIter: t.MaxIter, Standardize: t.Standardize},
	}, nil
}
