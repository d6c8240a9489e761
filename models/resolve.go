package models

import (
	"fmt"
	"os"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/onnxgraph"
)

// Settings are a user's explicit choices for a backbone; zero fields defer to
// the catalogue and then to what the model's graph says.
type Settings struct {
	Preprocess      string // preset name, "" for the default
	Layout          backbone.Layout
	InputSize       int
	EmbeddingOutput string
	Resize          string // "stretch", "crop", or "" for the default
}

// Resolved is a model file with the options to open it and the resize mode
// its images need.
type Resolved struct {
	Path  string
	Model *onnxgraph.Model
	// Entry is the catalogue entry the file matched, if any.
	Entry   Entry
	Known   bool
	Options backbone.Options
	Resize  dataset.ResizeMode
	// ResizeSource says why Resize was chosen.
	ResizeSource string
}

// Resolve reads the model named by ref, which is a file path or the name of
// a pulled catalogue model, and merges the catalogue's settings for it with
// the user's. Explicit settings win; the catalogue fills what they leave
// open; backbone.Open reads the rest from the graph.
func Resolve(ref string, s Settings, dir string) (*Resolved, error) {
	path := ref
	if _, err := os.Stat(ref); err != nil {
		e, known := Lookup(ref)
		if !known {
			return nil, fmt.Errorf("model %s: no such file, and no catalogue model of that name (see transfer models list): %w", ref, err)
		}
		path = e.Path(dir)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("model %s is not downloaded yet: run `transfer models pull %s` (it goes to %s)", ref, ref, path)
		}
	}
	m, err := onnxgraph.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	r := &Resolved{Path: path, Model: m, Resize: dataset.ResizeStretch, ResizeSource: "default"}
	r.Entry, r.Known = BySHA256(m.SHA256)
	o := &r.Options
	if r.Known {
		o.Layout, o.Preprocess, o.EmbeddingOutput = r.Entry.Layout, r.Entry.Preprocess, r.Entry.Embedding
		r.Resize, r.ResizeSource = r.Entry.Resize, "catalogue ("+r.Entry.Name+")"
	} else if q := ReadQuantization(m); q != nil {
		if err := q.settings(r); err != nil {
			return nil, fmt.Errorf("model %s: %w", path, err)
		}
	}
	if s.Preprocess != "" {
		if o.Preprocess, err = backbone.ParsePreprocess(s.Preprocess); err != nil {
			return nil, err
		}
	}
	if s.Layout != backbone.LayoutAuto {
		o.Layout = s.Layout
	}
	if s.EmbeddingOutput != "" {
		o.EmbeddingOutput = s.EmbeddingOutput
	}
	o.InputSize = s.InputSize
	if s.Resize != "" {
		if r.Resize, err = dataset.ParseResizeMode(s.Resize); err != nil {
			return nil, err
		}
		r.ResizeSource = "given"
	}
	return r, nil
}
