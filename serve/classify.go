package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
)

// ClassProb is a class and its probability.
type ClassProb struct {
	Class       string  `json:"class"`
	Probability float64 `json:"probability"`
}

// HeadResult is one head's top classes for an image.
type HeadResult struct {
	Head string      `json:"head"`
	Top  []ClassProb `json:"top"`
}

// ImageResult is one image's answer: every head's top classes, or why the
// image could not be classified (the request's other images are still
// answered).
type ImageResult struct {
	Image string       `json:"image"`
	Heads []HeadResult `json:"heads,omitempty"`
	Error string       `json:"error,omitempty"`
	// code is the status the image's failure alone would be answered
	// with: 400 for the client's image, 500 for the server's fault.
	code int
}

// ClassifyResponse is /v1/classify's answer. When no image of the request
// could be classified, Error says why and the status is not 200 (400 when
// the images were at fault), so that a client's status check sees the
// failure; Results still holds each image's error.
type ClassifyResponse struct {
	Model   string        `json:"model"`
	Version string        `json:"version,omitempty"`
	Results []ImageResult `json:"results"`
	Error   string        `json:"error,omitempty"`
}

// upload is one image of a request.
type upload struct {
	name string
	data []byte
}

// readUploads reads a request's images: the raw body, or the files of a
// multipart form.
func (s *Server) readUploads(r *http.Request) ([]upload, int, error) {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "multipart/") {
		if ct != "" && !strings.HasPrefix(ct, "image/") && ct != "application/octet-stream" {
			return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: send an image as the body (image/*, application/octet-stream) or a multipart/form-data upload", ct)
		}
		b, err := readBody(r)
		if err != nil {
			return nil, 0, err
		}
		if len(b) == 0 {
			return nil, http.StatusBadRequest, errors.New("the body is empty: send an image")
		}
		return []upload{{name: "body", data: b}}, 0, nil
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var ups []upload
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		if p.FileName() == "" && p.FormName() == "" {
			continue
		}
		if len(ups) == s.opts.MaxImages {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("more than %d images in one request", s.opts.MaxImages)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, 0, err
		}
		name := p.FileName()
		if name == "" {
			name = p.FormName()
		}
		ups = append(ups, upload{name: name, data: b})
	}
	if len(ups) == 0 {
		return nil, http.StatusBadRequest, errors.New("the form holds no file: upload one or more images")
	}
	return ups, 0, nil
}

func (s *Server) classify(w http.ResponseWriter, r *http.Request) {
	if !s.isReady() {
		writeError(w, http.StatusServiceUnavailable, "starting")
		return
	}
	k := 5
	if v := r.URL.Query().Get("k"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("k=%q: want a positive number of classes", v))
			return
		}
		k = n
	}
	ups, code, err := s.readUploads(r)
	if err != nil {
		if code != 0 {
			writeError(w, code, err.Error())
		} else {
			bodyError(w, err)
		}
		return
	}
	start := time.Now()
	results, err := s.classifyAll(r.Context(), ups, k)
	if !errors.Is(err, ErrOverloaded) {
		var names []string
		for _, h := range s.engine.Heads() {
			names = append(names, h.Name)
		}
		s.stats.request(names, err == nil && allFailed(results) == 0, time.Since(start))
	}
	switch {
	case errors.Is(err, ErrOverloaded):
		writeError(w, http.StatusServiceUnavailable, "overloaded: retry shortly")
		return
	case err != nil && r.Context().Err() != nil:
		return // the client went away
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	resp := ClassifyResponse{Model: s.opts.Model, Version: s.opts.Version, Results: results}
	code = http.StatusOK
	if failed := allFailed(results); failed != 0 {
		code = failed
		resp.Error = results[0].Image + ": " + results[0].Error
		if len(results) > 1 {
			resp.Error = fmt.Sprintf("none of the %d images could be classified; the first, %s", len(results), resp.Error)
		}
	}
	writeJSON(w, code, resp)
}

// allFailed returns the status for a request none of whose images could be
// classified (500 when any failure was the server's, else 400), or 0 when
// one was.
func allFailed(results []ImageResult) int {
	code := http.StatusBadRequest
	for _, r := range results {
		if r.Error == "" {
			return 0
		}
		code = max(code, r.code)
	}
	return code
}

// classifyAll decodes the images in parallel (at most one per core across
// all requests), queues them, and waits for their batches.
func (s *Server) classifyAll(ctx context.Context, ups []upload, k int) ([]ImageResult, error) {
	if !s.batcher.admit(len(ups)) {
		return nil, ErrOverloaded
	}
	results := make([]ImageResult, len(ups))
	jobs := make([]*job, len(ups))
	errs := make(chan error, len(ups))
	for i, u := range ups {
		results[i].Image = u.name
		go func() {
			defer s.batcher.done() // after the submit below
			t, err := s.prepare(ctx, u.data)
			if err != nil {
				results[i].Error, results[i].code = err.Error(), http.StatusBadRequest
				errs <- nil
				return
			}
			j := &job{ctx: ctx, tensor: t, done: make(chan jobResult, 1)}
			if err := s.batcher.submit(j); err != nil {
				errs <- err
				return
			}
			jobs[i] = j
			errs <- nil
		}()
	}
	var first error
	for range ups {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	for i, j := range jobs {
		if j == nil {
			continue
		}
		var res jobResult
		select {
		case res = <-j.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch {
		case errors.Is(res.err, ErrNonFiniteEmbedding):
			// The image's own pixels; the request's others are answered.
			results[i].Error, results[i].code = res.err.Error(), http.StatusBadRequest
			continue
		case errors.Is(res.err, head.ErrNonFiniteOutput):
			results[i].Error, results[i].code = res.err.Error(), http.StatusInternalServerError
			continue
		case res.err != nil:
			if first == nil {
				first = res.err
			}
			continue
		}
		for h, hd := range res.heads {
			results[i].Heads = append(results[i].Heads, HeadResult{Head: hd.Name, Top: top(res.probs[h], hd.Model.Classes, k)})
		}
	}
	if first != nil {
		return nil, first
	}
	return results, nil
}

// prepare decodes, resizes and preprocesses one image into a tensor.
func (s *Server) prepare(ctx context.Context, data []byte) ([]float32, error) {
	select {
	case s.decode <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.decode }()
	img, err := dataset.Prepare(ctx, data, s.engine.pixels.Resizer, s.decodeOptions())
	if err != nil {
		s.metrics.failures.Inc()
		return nil, err
	}
	s.metrics.decoded.Inc()
	t := make([]float32, s.engine.InputLen())
	s.engine.filler.Fill(t, img)
	return t, nil
}

func (s *Server) decodeOptions() dataset.DecodeOptions {
	o := s.opts.Decode
	o.Decoder = s.engine.pixels.Decoder
	return o
}

// top returns the k most probable classes.
func top(p []float64, classes []string, k int) []ClassProb {
	var out []ClassProb
	for _, j := range head.Top(p, k) {
		out = append(out, ClassProb{Class: classes[j], Probability: p[j]})
	}
	return out
}
