package dataset

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// MergeStats counts what a merge added to its output.
type MergeStats struct {
	Embeddings int64 // new embeddings
	Runs       int64 // runs of the registry not recorded there before
	Splits     int64 // recorded split sides
}

// Merge copies every backbone, embedding, path record, recorded run and
// recorded split side of the caches ins into c. Rows c already has are
// kept (a run is the same run when its time, kind, command, backbone,
// data and options are), so merging is idempotent and the shards of one
// extraction combine into the cache a single run would have made. Runs get
// new IDs in c; a sweep's runs keep pointing at their sweep. Every input
// is verified (VerifyCache) before anything is copied, and is only read.
// Inputs must store c's precision.
func (c *Cache) Merge(ctx context.Context, ins ...string) (MergeStats, error) {
	if c.readOnly {
		return MergeStats{}, fmt.Errorf("cache %s: %w", c.path, ErrCacheReadOnly)
	}
	ids, err := verifyInputs(ctx, ins)
	if err != nil {
		return MergeStats{}, err
	}
	if err := samePrecision(c.path, c.Precision(), ins, ids); err != nil {
		return MergeStats{}, err
	}
	return c.mergeAll(ctx, ins, ids)
}

// MergeCaches merges the caches ins into the cache at out, as Merge does,
// after verifying every input and before creating out. A new out is built
// under a temporary name beside it and renamed into place once every input
// is in, so that a failed merge leaves no partial cache behind; it stores
// its inputs' precision.
func MergeCaches(ctx context.Context, out string, ins ...string) (MergeStats, error) {
	ids, err := verifyInputs(ctx, ins)
	if err != nil {
		return MergeStats{}, err
	}
	if _, err := os.Stat(out); err == nil {
		c, err := OpenCache(out)
		if err != nil {
			return MergeStats{}, fmt.Errorf("merge: output %w", err)
		}
		st, err := c.Merge(ctx, ins...)
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		return st, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return MergeStats{}, fmt.Errorf("merge: output %w", err)
	}
	precision := ids[0].precision
	if err := samePrecision(ins[0], precision, ins[1:], ids[1:]); err != nil {
		return MergeStats{}, err
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".merging-*")
	if err != nil {
		return MergeStats{}, fmt.Errorf("merge: output %s: %w", out, err)
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp) // SQLite creates it; an empty file would read as no cache
	removeTmp := func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(tmp + suffix)
		}
	}
	c, err := OpenCacheWith(tmp, CacheOptions{Precision: precision})
	if err != nil {
		removeTmp()
		return MergeStats{}, fmt.Errorf("merge: output %s: %w", out, err)
	}
	st, err := c.mergeAll(ctx, ins, ids)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		removeTmp()
		return MergeStats{}, err
	}
	return st, nil
}

func verifyInputs(ctx context.Context, ins []string) ([]cacheIdentity, error) {
	ids := make([]cacheIdentity, len(ins))
	for i, in := range ins {
		var err error
		if ids[i], err = verifyCache(ctx, in); err != nil {
			return nil, fmt.Errorf("merge: input %w", err)
		}
	}
	return ids, nil
}

// samePrecision refuses inputs whose vectors are stored in another
// precision than the output's: the output would then say one precision
// and hold another.
func samePrecision(out string, p Precision, ins []string, ids []cacheIdentity) error {
	for i, id := range ids {
		if id.precision != p {
			return fmt.Errorf("merge %s: %w: it stores %s and %s stores %s; merge caches of one precision (extract the other set again into a cache of %s)",
				ins[i], ErrPrecision, id.precision, out, p, p)
		}
	}
	return nil
}

func (c *Cache) mergeAll(ctx context.Context, ins []string, ids []cacheIdentity) (MergeStats, error) {
	var total MergeStats
	for i, in := range ins {
		st, err := c.mergeOne(ctx, in, ids[i].version)
		if err != nil {
			return total, fmt.Errorf("merge %s: %w", in, describeSQLiteError(err))
		}
		total.Embeddings += st.Embeddings
		total.Runs += st.Runs
		total.Splits += st.Splits
	}
	return total, nil
}

// attachURI is the read-only URI of the cache at path. Its path is
// escaped as dsn's is: a '#', '?' or '%' in a file name would otherwise
// end the path, or start the query or a fragment, and open another file
// (read-write, since the mode then falls outside the query).
func attachURI(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro"
}

func (c *Cache) mergeOne(ctx context.Context, in string, version int) (MergeStats, error) {
	// ATTACH is per connection: pin one for the whole merge.
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return MergeStats{}, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS src`, attachURI(in)); err != nil {
		return MergeStats{}, err
	}
	defer conn.ExecContext(context.Background(), `DETACH DATABASE src`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return MergeStats{}, err
	}
	defer tx.Rollback()
	identity := "inode, ctime_ns"
	if version < 2 {
		identity = "0, 0"
	}
	// Every column is named: an input's tables may hold them in another
	// order (a cache made by other tools, or rebuilt), and a copy by
	// position would then put a model's name where its fingerprint goes.
	const backbones = `fingerprint, model, model_sha256, embedding_tensor, preprocess, layout, input_size, dim, first_seen`
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO main.backbones (`+backbones+`) SELECT `+backbones+` FROM src.backbones`); err != nil {
		return MergeStats{}, err
	}
	var st MergeStats
	if st.Embeddings, err = countAdded(ctx, tx, "embeddings", `INSERT INTO main.embeddings (fingerprint, image_sha256, resize, dim, vector, logits, computed_at)
			SELECT fingerprint, image_sha256, resize, dim, vector, logits, computed_at FROM src.embeddings WHERE true
			ON CONFLICT DO UPDATE SET logits = coalesce(embeddings.logits, excluded.logits)`); err != nil {
		return MergeStats{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO main.paths (path, image_sha256, size, mtime_ns, label, seen_at, inode, ctime_ns)
			SELECT path, image_sha256, size, mtime_ns, label, seen_at, `+identity+` FROM src.paths`); err != nil {
		return MergeStats{}, err
	}
	if version >= 3 { // the runs registry and recorded splits came with schema 3
		if st.Runs, err = mergeRuns(ctx, tx); err != nil {
			return MergeStats{}, err
		}
		// A side recorded in the output stays put: an image never changes
		// sides under an existing split.
		if st.Splits, err = countAdded(ctx, tx, "splits", `INSERT OR IGNORE INTO main.splits (split, image_sha256, val)
				SELECT split, image_sha256, val FROM src.splits`); err != nil {
			return MergeStats{}, err
		}
	}
	return st, tx.Commit()
}

// countAdded runs q and returns how many rows table gained.
func countAdded(ctx context.Context, tx *sql.Tx, table, q string) (int64, error) {
	var before, after int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM main.`+table).Scan(&before); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return 0, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM main.`+table).Scan(&after); err != nil {
		return 0, err
	}
	return after - before, nil
}

// srcRun is one row of an input's runs table.
type srcRun struct {
	id, sweep int64
	cols      [14]any // every column but id and sweep, in mergedRunColumns order
}

const mergedRunColumns = `created, kind, command, fingerprint, resize, model, data, data_path, protocol, options, history, metrics, head_path, head_sha256`

// mergeRuns copies the input's runs that the output lacks, in ID order
// under new IDs, and points each sweep's runs at the new ID of the sweep's
// first run.
func mergeRuns(ctx context.Context, tx *sql.Tx) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, sweep, `+mergedRunColumns+` FROM src.runs ORDER BY id`)
	if err != nil {
		return 0, err
	}
	var runs []srcRun
	for rows.Next() {
		var r srcRun
		dst := []any{&r.id, &r.sweep}
		for i := range r.cols {
			dst = append(dst, &r.cols[i])
		}
		if err := rows.Scan(dst...); err != nil {
			rows.Close()
			return 0, err
		}
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	newID := make(map[int64]int64, len(runs))
	var added int64
	for _, r := range runs {
		var have int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM main.runs WHERE created = ? AND kind = ? AND command = ? AND fingerprint = ? AND data = ? AND options = ?`,
			r.cols[0], r.cols[1], r.cols[2], r.cols[3], r.cols[6], r.cols[9]).Scan(&have)
		switch {
		case err == nil:
			newID[r.id] = have
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return 0, err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO main.runs (`+mergedRunColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.cols[:]...)
		if err != nil {
			return 0, err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return 0, err
		}
		newID[r.id] = id
		added++
		if r.sweep == 0 {
			continue
		}
		// A sweep's first run comes first in ID order, so its new ID is
		// known; a sweep whose first run was removed keeps its runs
		// together under the first one that is left.
		sweep, ok := newID[r.sweep]
		if !ok {
			sweep = id
			newID[r.sweep] = id
		}
		if _, err := tx.ExecContext(ctx, `UPDATE main.runs SET sweep = ? WHERE id = ?`, sweep, id); err != nil {
			return 0, err
		}
	}
	return added, nil
}
