package dataset

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

const runsSchema = `
CREATE TABLE IF NOT EXISTS runs (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	created      TEXT NOT NULL,
	kind         TEXT NOT NULL,
	command      TEXT NOT NULL,
	sweep        INTEGER NOT NULL DEFAULT 0,
	fingerprint  TEXT NOT NULL,
	resize       TEXT NOT NULL,
	model        TEXT NOT NULL,
	data         TEXT NOT NULL,
	data_path    TEXT NOT NULL,
	protocol     TEXT NOT NULL,
	options      TEXT NOT NULL,
	history      TEXT NOT NULL,
	metrics      TEXT NOT NULL,
	head_path    TEXT NOT NULL DEFAULT '',
	head_sha256  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created);
CREATE TABLE IF NOT EXISTS splits (
	split        TEXT NOT NULL,
	image_sha256 TEXT NOT NULL,
	val          INTEGER NOT NULL,
	PRIMARY KEY (split, image_sha256)
) WITHOUT ROWID;
`

// Run is the record of one experiment: a train, an eval, or one
// configuration of a sweep. Options, History and Metrics are JSON, written
// and read by the experiment layer; the cache keeps them as they are.
type Run struct {
	ID      int64
	Created time.Time
	// Kind is the command: "train", "eval" or "sweep".
	Kind string
	// Command is the command line, as a shell would take it.
	Command string
	// Sweep groups a sweep's configurations: the first one's ID, 0 for
	// runs of other kinds.
	Sweep int64
	// Fingerprint and Pixels are the embeddings' Key; Model the backbone's
	// file or catalogue name.
	Fingerprint, Pixels, Model string
	// Data fingerprints the images and labels (content hashes, sorted);
	// DataPath is the folder or manifest as given.
	Data, DataPath string
	Protocol       string
	Options        json.RawMessage
	History        json.RawMessage
	Metrics        json.RawMessage
	// HeadPath and HeadSHA256 name the head file the run wrote.
	HeadPath, HeadSHA256 string
}

// AddRun records r and returns its ID.
func (c *Cache) AddRun(ctx context.Context, r Run) (int64, error) {
	if c.readOnly {
		return 0, fmt.Errorf("cache %s: %w", c.path, ErrCacheReadOnly)
	}
	if r.Created.IsZero() {
		r.Created = time.Now()
	}
	res, err := c.db.ExecContext(ctx, `INSERT INTO runs (created, kind, command, sweep, fingerprint, resize, model, data, data_path, protocol, options, history, metrics, head_path, head_sha256)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Created.UTC().Format(timeLayout), r.Kind, r.Command, r.Sweep, r.Fingerprint, r.Pixels, r.Model, r.Data, r.DataPath, r.Protocol,
		orNull(r.Options), orNull(r.History), orNull(r.Metrics), r.HeadPath, r.HeadSHA256)
	if err != nil {
		return 0, c.fail(err)
	}
	return res.LastInsertId()
}

// SetRunSweep sets the sweep a run belongs to.
func (c *Cache) SetRunSweep(ctx context.Context, id, sweep int64) error {
	if _, err := c.db.ExecContext(ctx, `UPDATE runs SET sweep = ? WHERE id = ?`, sweep, id); err != nil {
		return c.fail(err)
	}
	return nil
}

const timeLayout = "2006-01-02T15:04:05.000000000Z"

func orNull(b json.RawMessage) string {
	if len(b) == 0 {
		return "null"
	}
	return string(b)
}

// RunFilter selects runs; zero fields select all.
type RunFilter struct {
	// Model matches a substring of the model; Data a substring of the
	// data path or a prefix of the data fingerprint.
	Model, Data string
	Since       time.Time
	Kind        string
	Sweep       int64
}

const runColumns = `id, created, kind, command, sweep, fingerprint, resize, model, data, data_path, protocol, options, history, metrics, head_path, head_sha256`

// Runs returns the runs f selects, newest first.
func (c *Cache) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	if c.version < 3 {
		return nil, nil // an older cache opened read-only has no runs
	}
	var where []string
	var args []any
	if f.Model != "" {
		where, args = append(where, "instr(model, ?) > 0"), append(args, f.Model)
	}
	if f.Data != "" {
		where, args = append(where, "(instr(data_path, ?) > 0 OR data LIKE ? || '%')"), append(args, f.Data, f.Data)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "created >= ?"), append(args, f.Since.UTC().Format(timeLayout))
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Sweep != 0 {
		where, args = append(where, "sweep = ?"), append(args, f.Sweep)
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := c.db.QueryContext(ctx, q+" ORDER BY id DESC", args...)
	if err != nil {
		return nil, c.fail(err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrNoRun reports a run ID that the cache does not hold.
var ErrNoRun = errors.New("no such run")

// Run returns the run id.
func (c *Cache) Run(ctx context.Context, id int64) (Run, error) {
	if c.version < 3 {
		return Run{}, fmt.Errorf("%w: %d", ErrNoRun, id)
	}
	r, err := scanRun(c.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("%w: %d (see transfer runs list)", ErrNoRun, id)
	}
	return r, err
}

// RemoveRuns deletes the runs ids and returns how many there were.
func (c *Cache) RemoveRuns(ctx context.Context, ids []int64) (int, error) {
	if c.readOnly {
		return 0, fmt.Errorf("cache %s: %w", c.path, ErrCacheReadOnly)
	}
	n := 0
	for _, id := range ids {
		res, err := c.db.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, id)
		if err != nil {
			return n, c.fail(err)
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, nil
}

type scanner interface{ Scan(...any) error }

func scanRun(s scanner) (Run, error) {
	var r Run
	var created, options, history, metrics string
	if err := s.Scan(&r.ID, &created, &r.Kind, &r.Command, &r.Sweep, &r.Fingerprint, &r.Pixels, &r.Model, &r.Data, &r.DataPath, &r.Protocol,
		&options, &history, &metrics, &r.HeadPath, &r.HeadSHA256); err != nil {
		return r, err
	}
	r.Created, _ = time.Parse(timeLayout, created)
	r.Options, r.History, r.Metrics = json.RawMessage(options), json.RawMessage(history), json.RawMessage(metrics)
	return r, nil
}

// SplitID names a content split: its validation fraction and seed.
func SplitID(fraction float64, seed uint64) string {
	return fmt.Sprintf("val-split=%g/seed=%d", fraction, seed)
}

// SplitSides returns the sides recorded for split among the images shas
// (true for validation); images never split are absent.
func (c *Cache) SplitSides(ctx context.Context, split string, shas []string) (map[string]bool, error) {
	sides := map[string]bool{}
	if c.version < 3 {
		return sides, nil
	}
	var mu sync.Mutex
	err := c.inChunks(ctx, `SELECT image_sha256, val FROM splits WHERE split = ? AND image_sha256 IN `, []any{split}, shas, func(rows *sql.Rows) error {
		var sha string
		var val bool
		if err := rows.Scan(&sha, &val); err != nil {
			return err
		}
		mu.Lock()
		sides[sha] = val
		mu.Unlock()
		return nil
	})
	return sides, err
}

// RecordSplit keeps the sides of split's images, so that a later split of
// a grown set leaves them where they are. Recorded sides are never changed.
func (c *Cache) RecordSplit(ctx context.Context, split string, sides map[string]bool) error {
	if c.readOnly {
		return fmt.Errorf("cache %s: %w", c.path, ErrCacheReadOnly)
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return c.fail(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO splits (split, image_sha256, val) VALUES (?, ?, ?)`)
	if err != nil {
		return c.fail(err)
	}
	defer stmt.Close()
	for sha, val := range sides {
		if _, err := stmt.ExecContext(ctx, split, sha, val); err != nil {
			return c.fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return c.fail(err)
	}
	return nil
}
