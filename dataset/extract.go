package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/transfer-go/transfer/backbone"
)

// Embedder runs a backbone on batches of preprocessed images.
// *backbone.Backbone implements it.
type Embedder interface {
	Info() backbone.Info
	Run(ctx context.Context, batch []float32) (*backbone.Result, error)
}

// ExtractOptions configure Extract.
type ExtractOptions struct {
	// Batch is the number of images per inference call (default 32).
	Batch int
	// Workers is the number of decoding goroutines (default: one per core).
	Workers int
	// Resizer brings images to the backbone's input size; with the decoder
	// it makes the PixelSpec part of the cache key.
	Resizer Resizer
	Decode  DecodeOptions
	// KeepLogits stores the model's original output beside each embedding
	// (for checks against the model's own classes); cached rows without it
	// are recomputed.
	KeepLogits bool
	// Collect keeps every vector in the result, for training or prediction;
	// without it Extract holds only the batch in flight.
	Collect bool
	// Abort, when done, stops inference at once. Cancelling Extract's ctx
	// instead lets the batch in flight finish and be committed.
	Abort context.Context
	// Progress, if set, is called as images complete; calls never overlap.
	Progress func(Progress)
	// Model names the backbone in the cache's records.
	Model string
	// Rehash reads and hashes every file even when its path record says
	// it is unchanged (same size, modification time, inode and change
	// time).
	Rehash bool
	// ContinueWithoutSaving goes on when the cache cannot be written (a
	// full disk, a read-only cache): the embeddings computed from then on
	// are kept in the result only, counted in Unsaved, and the write
	// error is in SaveErr instead of being returned. Without it a failed
	// write ends the extraction.
	ContinueWithoutSaving bool
}

// Progress counts the images of an extraction.
type Progress struct {
	Total, Embedded, Cached, Failed int
	Elapsed                         time.Duration
}

// Done returns the number of images finished either way.
func (p Progress) Done() int { return p.Embedded + p.Cached + p.Failed }

// Failure is an image that could not be embedded.
type Failure struct {
	Index int
	Path  string
	Err   error
}

// Extraction is the outcome of Extract.
type Extraction struct {
	Progress
	// Vectors and Logits hold, per item of the set, its embedding and (when
	// kept) its logits; nil for failed items or without Collect.
	Vectors [][]float32
	Logits  [][]float32
	// SHA256 holds, per item, the hex SHA-256 of its file's bytes: the
	// content that splits, duplicate checks and run records key on. Set
	// with Vectors.
	SHA256 []string
	// Failures lists failed items in set order.
	Failures []Failure
	// Unsaved counts the embeddings computed but not written to the
	// cache, and SaveErr says why (see ContinueWithoutSaving); Summary
	// reports the difference as the number saved.
	Unsaved int
	SaveErr error

	bySHA map[string][]float32 // the first vector of each content, which its other items share
}

// collect keeps item i's vector. Items of one content (a manifest naming a
// file many times, hard links, copies) share the first one's slice: the
// cache holds one embedding per content anyway, and head.NewData stores a
// shared slice once, so memory follows the distinct images.
func (x *Extraction) collect(i int, v []float32, sha string) {
	if first, ok := x.bySHA[sha]; ok && len(first) == len(v) {
		v = first
	} else {
		if x.bySHA == nil {
			x.bySHA = make(map[string][]float32)
		}
		x.bySHA[sha] = v
	}
	x.Vectors[i], x.SHA256[i] = v, sha
}

// Summary is the one-line account: "38 embedded, 2 from cache, 0 failed".
func (x *Extraction) Summary() string {
	s := fmt.Sprintf("%d embedded, %d from cache, %d failed", x.Embedded, x.Cached, x.Failed)
	if x.Unsaved > 0 {
		s += fmt.Sprintf("; only %d of the %d embedded saved to the cache", x.Embedded-x.Unsaved, x.Embedded)
	}
	return s
}

// Rows returns the items that have a vector, in set order: the vectors,
// the items' labels and their indices in the set.
func (x *Extraction) Rows(set *Set) (vectors [][]float32, labels, items []int) {
	for i, v := range x.Vectors {
		if v != nil {
			vectors, labels, items = append(vectors, v), append(labels, set.Items[i].Label), append(items, i)
		}
	}
	return vectors, labels, items
}

// BackboneOf is the cache's record of a backbone; model names it.
func BackboneOf(info backbone.Info, model string) Backbone {
	return Backbone{
		Fingerprint: info.Fingerprint, Model: model, ModelSHA256: info.ModelSHA256, EmbeddingTensor: info.Features.Tensor,
		Preprocess: info.Preprocess.Name, Layout: info.Layout.String(), InputSize: fmt.Sprintf("%dx%d", info.Width, info.Height), Dim: info.Dim,
	}
}

// CacheKey returns the key under which a backbone's embeddings of JPEG
// images decoded by d and resized by r are cached; other formats are cached
// under the key of Go's decoder (see ImageKey), whatever d is.
func CacheKey(info backbone.Info, r Resizer, d Decoder) Key {
	return Key{Fingerprint: info.Fingerprint, Pixels: PixelSpec{Resizer: r, Decoder: d}.String()}
}

// ImageKey is the key of one image's embedding: the decoder belongs in it
// only when it decodes the image, that is for JPEGs. Rows of other formats
// stored under the decoder's key by earlier versions are still found (see
// Extract).
func ImageKey(info backbone.Info, r Resizer, d Decoder, jpeg bool) Key {
	if !jpeg {
		d = GoDecoder
	}
	return CacheKey(info, r, d)
}

// isJPEG reports whether data starts as a JPEG does.
func isJPEG(data []byte) bool {
	return len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF
}

// fileIsJPEG sniffs a file's first bytes.
func fileIsJPEG(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [3]byte
	n, _ := io.ReadFull(f, b[:])
	return isJPEG(b[:n])
}

// event is what a worker reports about one item.
type event struct {
	idx    int
	row    Row       // hash, path record; Vector set for a cache hit
	logits []float32 // cached logits, on a hit
	hit    bool
	pathUp bool       // the path record is new or stale
	tensor *[]float32 // the preprocessed image, on a miss
	err    error
}

// Extract computes the embedding of every item of set that cache lacks and
// stores it, reusing cached ones. Images run through a pool of decoding
// workers into batched inference , while a writer
// commits each batch in its own transaction, so the three overlap. Images
// that cannot be read or decoded are reported in Failures and skipped; the
// run goes on.
//
// When ctx is cancelled, Extract lets the batches in flight finish, commits
// them, and returns what it has with ctx's error.
func Extract(ctx context.Context, set *Set, emb Embedder, cache *Cache, opts ExtractOptions) (*Extraction, error) {
	info := emb.Info()
	if opts.Batch <= 0 {
		opts.Batch = 32
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	if opts.Abort == nil {
		opts.Abort = context.WithoutCancel(ctx)
	}
	if opts.Resizer.Width != info.Width || opts.Resizer.Height != info.Height {
		return nil, fmt.Errorf("resizer makes %dx%d images, the backbone takes %dx%d", opts.Resizer.Width, opts.Resizer.Height, info.Width, info.Height)
	}
	key := CacheKey(info, opts.Resizer, opts.Decode.Decoder)
	if opts.Decode.Budget == nil {
		opts.Decode.Budget = NewMemoryBudget(0)
	}
	var saveErr error
	if err := cache.AddBackbone(BackboneOf(info, opts.Model)); err != nil {
		if !opts.ContinueWithoutSaving {
			return nil, err
		}
		saveErr = err
	}

	start := time.Now()
	x := &Extraction{Progress: Progress{Total: len(set.Items)}}
	if opts.Collect {
		x.Vectors = make([][]float32, len(set.Items))
		x.SHA256 = make([]string, len(set.Items))
		if opts.KeepLogits {
			x.Logits = make([][]float32, len(set.Items))
		}
	}
	var mu sync.Mutex // guards x and calls of opts.Progress
	report := func() {
		if opts.Progress != nil {
			x.Elapsed = time.Since(start)
			opts.Progress(x.Progress)
		}
	}

	known, err := prefetch(ctx, set, cache, key, opts)
	if err != nil {
		return nil, err
	}

	// Decoding workers turn item indices into events.
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	jobs := make(chan int)
	events := make(chan event, 2*opts.Batch)
	il := info.InputLen()
	pool := sync.Pool{New: func() any { t := make([]float32, il); return &t }}
	filler := backbone.NewFiller(info.Preprocess, info.Layout)
	var workers sync.WaitGroup
	for w := 0; w < opts.Workers; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for idx := range jobs {
				ev := prepare(workCtx, set, idx, cache, key, opts, filler, &pool, known)
				select {
				case events <- ev:
				case <-workCtx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range set.Items {
			select {
			case jobs <- i:
			case <-workCtx.Done():
				return
			}
		}
	}()
	go func() {
		workers.Wait()
		close(events)
	}()

	// One inference goroutine runs full batches and hands their rows to
	// the writer. ONNX Runtime spreads each batch over its intra-op
	// threads; several batches in flight at once measured no faster
	// (BENCHMARKS.md, BenchmarkEmbedStreams).
	w := newBatchWriter(cache, key, saveErr)
	writeErrs := w.errc
	batches := make(chan []event)
	inferErr := make(chan error, 1)
	var inference sync.WaitGroup
	inference.Add(1)
	go func() {
		defer inference.Done()
		var batch []float32 // the inference goroutine's, reused
		for pending := range batches {
			rows, idx, bad, err := infer(opts.Abort, emb, pending, &pool, il, &batch)
			if err != nil {
				select {
				case inferErr <- err:
				default: // the first errors are enough
				}
				continue
			}
			mu.Lock()
			for i := range rows {
				x.Embedded++
				if opts.Collect {
					x.collect(idx[i], rows[i].Vector, rows[i].SHA256)
					if x.Logits != nil {
						x.Logits[idx[i]] = rows[i].Logits
					}
				}
				if !opts.KeepLogits {
					rows[i].Logits = nil
				}
			}
			for _, ev := range bad {
				x.Failed++
				x.Failures = append(x.Failures, Failure{Index: ev.idx, Path: set.Items[ev.idx].Path, Err: ev.err})
			}
			report()
			mu.Unlock()
			w.send(rows)
		}
	}()

	var pending []event // prepared images waiting for inference
	var pathRows []Row  // path records of hits, written with the next batch
	dispatch := func() bool {
		if len(pathRows) > 0 {
			w.send(pathRows)
			pathRows = nil
		}
		if len(pending) == 0 {
			return true
		}
		select {
		case batches <- pending:
			pending = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	var runErr error
loop:
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			break loop
		case err := <-writeErrs:
			if opts.ContinueWithoutSaving {
				writeErrs = nil // the writer now counts what it drops
				continue
			}
			runErr = err
			break loop
		case err := <-inferErr:
			runErr = err
			break loop
		case ev, ok := <-events:
			if !ok {
				dispatch()
				break loop
			}
			mu.Lock()
			switch {
			case ev.err != nil:
				x.Failed++
				x.Failures = append(x.Failures, Failure{Index: ev.idx, Path: set.Items[ev.idx].Path, Err: ev.err})
				report()
			case ev.hit:
				x.Cached++
				if opts.Collect {
					x.collect(ev.idx, ev.row.Vector, ev.row.SHA256)
					if x.Logits != nil {
						x.Logits[ev.idx] = ev.logits
					}
				}
				if ev.pathUp {
					r := ev.row
					r.Vector = nil
					pathRows = append(pathRows, r)
				}
				report()
			default:
				pending = append(pending, ev)
			}
			mu.Unlock()
			if len(pending) == opts.Batch && !dispatch() {
				break loop
			}
		}
	}
	stopWork()
	close(batches)
	inference.Wait()
	close(inferErr)
	unsaved, err := w.close()
	if err != nil {
		// The summary counts what was committed, whether the run goes on
		// without saving or stops here.
		x.SaveErr, x.Unsaved = err, unsaved
		if !opts.ContinueWithoutSaving && runErr == nil {
			runErr = err
		}
	}
	for err := range inferErr {
		if runErr == nil {
			runErr = err
		}
	}
	x.Elapsed = time.Since(start)
	sortFailures(x.Failures)
	if runErr == nil && ctx.Err() != nil {
		runErr = ctx.Err()
	}
	return x, runErr
}

// known is what the cache knew of a set's files when extraction started,
// read in a few bulk queries instead of two per image.
type known struct {
	abs     []string              // absolute path of each item
	paths   map[string]pathRecord // path records of the set's files
	entries map[string]Entry      // cached entries of their recorded digests
	// plain is the key of images the decoder does not decode (all but
	// JPEGs) when it differs from the extraction's key, with the entries
	// under it; zero when the decoder adds nothing to the key.
	plain        Key
	plainEntries map[string]Entry
}

// twoKeys reports whether JPEGs and other formats are keyed apart.
func (k *known) twoKeys() bool { return k.plain.Pixels != "" }

// prefetch reads the path records of the set's files and the cache entries
// of their recorded digests: with vectors when they are to be collected,
// else only whether they exist.
func prefetch(ctx context.Context, set *Set, cache *Cache, key Key, opts ExtractOptions) (*known, error) {
	k := &known{abs: make([]string, len(set.Items))}
	for i, it := range set.Items {
		abs, err := filepath.Abs(it.Path)
		if err != nil {
			abs = it.Path
		}
		k.abs[i] = abs
	}
	var err error
	if k.paths, err = cache.pathRecords(ctx, k.abs); err != nil {
		return nil, err
	}
	shas := make([]string, 0, len(k.paths))
	for _, r := range k.paths {
		shas = append(shas, r.sha)
	}
	if k.entries, err = cache.entries(ctx, key, shas, opts.Collect); err != nil {
		return k, err
	}
	if plain := ImageKey(backbone.Info{Fingerprint: key.Fingerprint}, opts.Resizer, opts.Decode.Decoder, false); plain.Pixels != key.Pixels {
		k.plain = plain
		k.plainEntries, err = cache.entries(ctx, plain, shas, opts.Collect)
	}
	return k, err
}

// prepare does a worker's part for one item: find its digest (from the
// path record when the file is unchanged), look the embedding up, and on a
// miss decode, resize and preprocess the image.
func prepare(ctx context.Context, set *Set, idx int, cache *Cache, key Key, opts ExtractOptions, filler *backbone.Filler, pool *sync.Pool, k *known) event {
	it := set.Items[idx]
	ev := event{idx: idx}
	abs := k.abs[idx]
	st, err := os.Stat(it.Path)
	if err == nil {
		err = checkFile(st, opts.Decode.MaxFileSize)
	}
	if err != nil {
		ev.err = &ImageError{Path: it.Path, Err: err}
		return ev
	}
	ev.row = Row{Path: abs, Size: st.Size(), MtimeNS: st.ModTime().UnixNano()}
	ev.row.Inode, ev.row.CtimeNS = fileIdentity(st)
	if it.Label >= 0 && it.Label < len(set.Classes) {
		ev.row.Label = set.Classes[it.Label]
	}
	var data []byte
	// data lives only until this function returns: nothing prepared from
	// it refers to it, so its buffer goes back to the pool. A cache hit by
	// path record reads nothing and takes no buffer.
	var buf *[]byte
	read := func() ([]byte, error) {
		buf = fileBuffers.Get().(*[]byte)
		return readFile(it.Path, opts.Decode.MaxFileSize, *buf)
	}
	defer func() {
		if buf == nil {
			return
		}
		if data != nil && cap(data) <= maxPooledBuffer {
			*buf = data[:0]
		}
		fileBuffers.Put(buf)
	}()
	var sha string
	rec, isKnown := k.paths[abs]
	isKnown = isKnown && !opts.Rehash && rec.size == ev.row.Size && rec.mtimeNS == ev.row.MtimeNS &&
		rec.inode == ev.row.Inode && rec.ctimeNS == ev.row.CtimeNS
	// The decoder matters to JPEGs only (see ImageKey). jpeg says whether
	// the image is one, as far as it is known: a row under the decoder's
	// key serves any format (for the others it holds the plain key's
	// pixels), so only a row under the plain key alone needs a look at the
	// file's first bytes, to tell a JPEG's row made by another decoder
	// from the others'.
	jpeg := true
	if isKnown {
		sha = rec.sha
		e, ok := k.entries[sha]
		if pe, pok := k.plainEntries[sha]; !ok && pok {
			if jpeg = fileIsJPEG(it.Path); !jpeg {
				e, ok = pe, true
			}
		}
		if ok && (!opts.KeepLogits || e.Logits != nil) {
			if opts.Collect {
				ev.row.Vector, ev.logits = e.Vector, e.Logits
			}
			ev.hit, ev.row.SHA256 = true, sha
			return ev
		}
	} else {
		if data, err = read(); err != nil {
			ev.err = &ImageError{Path: it.Path, Err: err}
			return ev
		}
		sum := sha256.Sum256(data)
		sha = hex.EncodeToString(sum[:])
		ev.pathUp = true
		jpeg = !k.twoKeys() || isJPEG(data)
	}
	ev.row.SHA256 = sha
	lookup := key
	if !jpeg {
		lookup = k.plain
	}
	e, hit, err := cache.Get(ctx, lookup, sha)
	if err == nil && !hit && !jpeg {
		e, hit, err = cache.Get(ctx, key, sha)
	}
	if err != nil {
		ev.err = err
		return ev
	}
	if hit && (!opts.KeepLogits || e.Logits != nil) {
		ev.hit, ev.row.Vector, ev.logits = true, e.Vector, e.Logits
		ev.pathUp = !isKnown
		return ev
	}
	if data == nil {
		if data, err = read(); err != nil {
			ev.err = &ImageError{Path: it.Path, Err: err}
			return ev
		}
	}
	// A new row goes under its format's key.
	if k.twoKeys() && !isJPEG(data) {
		ev.row.Pixels = k.plain.Pixels
	}
	img, err := Prepare(ctx, data, opts.Resizer, opts.Decode)
	if err != nil {
		ev.err = &ImageError{Path: it.Path, Err: err}
		return ev
	}
	t := pool.Get().(*[]float32)
	filler.Fill(*t, img)
	ev.tensor = t
	return ev
}

// ErrNonFinite reports an embedding with NaN or infinite values: the model
// produced no usable vector for that image, and none is cached.
var ErrNonFinite = errors.New("the model's embedding has NaN or infinite values")

// infer runs one batch and returns the rows of its usable embeddings
// (Vector and Logits filled) with their items' indices, and the events of
// images whose embedding is not finite, their err set.
func infer(ctx context.Context, emb Embedder, pending []event, pool *sync.Pool, il int, batch *[]float32) (rows []Row, idx []int, bad []event, err error) {
	n := len(pending)
	if cap(*batch) < n*il {
		*batch = make([]float32, n*il)
	}
	buf := (*batch)[:n*il]
	for i, ev := range pending {
		copy(buf[i*il:(i+1)*il], *ev.tensor)
		pool.Put(ev.tensor)
	}
	res, err := emb.Run(ctx, buf)
	if err != nil {
		return nil, nil, nil, err
	}
	rows = make([]Row, 0, n)
	for i, ev := range pending {
		if !finite32(res.Embeddings[i]) {
			ev.err = &ImageError{Path: ev.row.Path, Err: ErrNonFinite}
			bad = append(bad, ev)
			continue
		}
		r := ev.row
		r.Vector = res.Embeddings[i]
		if res.Logits != nil {
			r.Logits = res.Logits[i]
		}
		rows, idx = append(rows, r), append(idx, ev.idx)
	}
	return rows, idx, bad, nil
}

// batchWriter commits batches in a goroutine of its own, so that the
// database write of one batch overlaps the inference of the next. Writes
// ignore cancellation: a batch that was computed is always committed.
// After the first failed write it only counts the embeddings it drops.
type batchWriter struct {
	rows    chan []Row
	errc    chan error
	done    chan struct{}
	err     error // the first write error, read after done
	unsaved int   // embeddings not written, read after done
}

// newBatchWriter starts a writer; a non-nil failed means that the cache is
// already known not to take writes.
func newBatchWriter(c *Cache, k Key, failed error) *batchWriter {
	w := &batchWriter{rows: make(chan []Row, 2), errc: make(chan error, 1), done: make(chan struct{}), err: failed}
	go func() {
		defer close(w.done)
		for rows := range w.rows {
			if w.err == nil {
				if w.err = c.Put(context.Background(), k, rows); w.err != nil {
					w.errc <- w.err
				}
			}
			if w.err != nil {
				for _, r := range rows {
					if r.Vector != nil {
						w.unsaved++
					}
				}
			}
		}
	}()
	return w
}

func (w *batchWriter) send(rows []Row) { w.rows <- rows }

// close waits for every batch to be committed and returns the number of
// embeddings not written and the first error.
func (w *batchWriter) close() (int, error) {
	close(w.rows)
	<-w.done
	return w.unsaved, w.err
}

func sortFailures(f []Failure) {
	sort.Slice(f, func(i, j int) bool { return f[i].Index < f[j].Index })
}
