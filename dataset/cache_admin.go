package dataset

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
)

// BackboneStats counts one backbone's entries in a cache.
type BackboneStats struct {
	Backbone
	Resize  string
	Entries int
	Logits  int
}

// CacheStats describes a cache's contents.
type CacheStats struct {
	Path      string
	Bytes     int64
	Images    int
	Backbones []BackboneStats
}

// Stats counts the cache's entries per backbone and resize specification.
func (c *Cache) Stats(ctx context.Context) (CacheStats, error) {
	s := CacheStats{Path: c.path}
	for _, suffix := range []string{"", "-wal"} {
		if st, err := os.Stat(c.path + suffix); err == nil {
			s.Bytes += st.Size()
		}
	}
	if err := c.db.QueryRowContext(ctx, `SELECT count(DISTINCT image_sha256) FROM embeddings`).Scan(&s.Images); err != nil {
		return s, err
	}
	rows, err := c.db.QueryContext(ctx, `SELECT e.fingerprint, e.resize, count(*), count(e.logits),
			coalesce(b.model, ''), coalesce(b.model_sha256, ''), coalesce(b.embedding_tensor, ''), coalesce(b.preprocess, ''),
			coalesce(b.layout, ''), coalesce(b.input_size, ''), coalesce(b.dim, 0)
		FROM embeddings e LEFT JOIN backbones b ON b.fingerprint = e.fingerprint
		GROUP BY e.fingerprint, e.resize ORDER BY min(e.computed_at), e.fingerprint, e.resize`)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		var b BackboneStats
		if err := rows.Scan(&b.Fingerprint, &b.Resize, &b.Entries, &b.Logits, &b.Model, &b.ModelSHA256, &b.EmbeddingTensor,
			&b.Preprocess, &b.Layout, &b.InputSize, &b.Dim); err != nil {
			return s, err
		}
		s.Backbones = append(s.Backbones, b)
	}
	return s, rows.Err()
}

// Problem is one defect Check found.
type Problem struct {
	Fingerprint, ImageSHA256, Resize string
	What                             string
}

func (p Problem) String() string {
	return fmt.Sprintf("image %.12s, backbone %.12s, %s: %s", p.ImageSHA256, p.Fingerprint, p.Resize, p.What)
}

// Check verifies the database's integrity and every row: the vector's length
// matches its recorded dimension and its backbone's, every value is finite,
// and the fingerprint belongs to a recorded backbone. It reports at most
// limit problems (all when limit <= 0) and the number of rows checked.
func (c *Cache) Check(ctx context.Context, limit int) ([]Problem, int, error) {
	var integrity string
	if err := c.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&integrity); err != nil {
		return nil, 0, err
	}
	var probs []Problem
	if integrity != "ok" {
		probs = append(probs, Problem{What: "SQLite integrity check: " + integrity})
	}
	dims := map[string]int{}
	brows, err := c.db.QueryContext(ctx, `SELECT fingerprint, dim FROM backbones`)
	if err != nil {
		return nil, 0, err
	}
	for brows.Next() {
		var fp string
		var d int
		if err := brows.Scan(&fp, &d); err != nil {
			brows.Close()
			return nil, 0, err
		}
		dims[fp] = d
	}
	brows.Close()
	rows, err := c.db.QueryContext(ctx, `SELECT fingerprint, image_sha256, resize, dim, vector, logits FROM embeddings`)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	n := 0
	add := func(p Problem) {
		if limit <= 0 || len(probs) < limit {
			probs = append(probs, p)
		}
	}
	for rows.Next() {
		var fp, sha, resize string
		var dim int
		var vec, logits []byte
		if err := rows.Scan(&fp, &sha, &resize, &dim, &vec, &logits); err != nil {
			return probs, n, err
		}
		n++
		p := Problem{Fingerprint: fp, ImageSHA256: sha, Resize: resize}
		bd, known := dims[fp]
		switch {
		case !known:
			p.What = "fingerprint of no recorded backbone"
			add(p)
		case len(vec) != 4*dim && len(vec) != 2*dim:
			p.What = fmt.Sprintf("vector of %d bytes, recorded dimension %d", len(vec), dim)
			add(p)
		case dim != bd:
			p.What = fmt.Sprintf("dimension %d, its backbone's is %d", dim, bd)
			add(p)
		}
		if (len(vec) == 4*dim || len(vec) == 2*dim) && !finite32(decodeValues(vec, dim)) {
			p.What = "vector holds NaN or infinite values"
			add(p)
		}
		if logits != nil && (len(logits)%4 != 0 || !finite32(decodeVector(logits))) {
			p.What = "logits are malformed or not finite"
			add(p)
		}
	}
	return probs, n, rows.Err()
}

func finite32(v []float32) bool {
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

// ErrCacheDamaged reports a cache whose rows fail Check.
var ErrCacheDamaged = errors.New("the cache has damaged rows")

// VerifyCache opens the cache at path read-only and checks every row as
// Check does; it fails on the first problem, naming it.
func VerifyCache(ctx context.Context, path string) error {
	_, err := verifyCache(ctx, path)
	return err
}

// cacheIdentity is what a merge needs of a verified input.
type cacheIdentity struct {
	version   int
	precision Precision
}

// verifyCache is VerifyCache that also returns the cache's schema version
// and precision, read by the same opening.
func verifyCache(ctx context.Context, path string) (cacheIdentity, error) {
	c, err := OpenCacheReadOnly(path)
	if err != nil {
		return cacheIdentity{}, err
	}
	defer c.Close()
	probs, _, err := c.Check(ctx, 1)
	if err != nil {
		return cacheIdentity{}, fmt.Errorf("cache %s: %w", path, describeSQLiteError(err))
	}
	if len(probs) > 0 {
		return cacheIdentity{}, fmt.Errorf("cache %s: %w: %s (Check lists every problem)", path, ErrCacheDamaged, probs[0])
	}
	return cacheIdentity{version: c.version, precision: c.Precision()}, nil
}
