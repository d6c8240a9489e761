package dataset

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// Cache schema identity. A cache written with a newer schema is refused,
// never migrated downwards or overwritten.
const (
	cacheApp           = "transfer-embedding-cache"
	CacheSchemaVersion = 3
)

// migrations bring a cache of schema version i+1 to version i+2, inside the
// transaction that opens it: an older cache is upgraded in place, once, and
// keeps every embedding.
var migrations = []string{
	// 1 → 2: path records remember the file's inode and change time, so
	// that a file rewritten with its size and modification time restored
	// is hashed again. Old records match no file and are refreshed on
	// first use.
	`ALTER TABLE paths ADD COLUMN inode INTEGER NOT NULL DEFAULT 0;
	 ALTER TABLE paths ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0;`,
	// 2 → 3: the runs registry and the sides of content splits.
	runsSchema,
}

// ErrCacheReadOnly reports a write to a cache opened read-only.
var ErrCacheReadOnly = errors.New("the cache is open read-only")

// ErrNotCache reports a file that is not a transfer cache.
var ErrNotCache = errors.New("not a transfer embedding cache")

// ErrCacheTooNew reports a cache written by a newer transfer.
var ErrCacheTooNew = errors.New("cache written by a newer transfer")

// busyTimeout is how long a writer waits for another process's transaction
// before giving up; batches commit in milliseconds, so a long wait means a
// stuck peer.
const busyTimeout = 60 * time.Second

const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS backbones (
	fingerprint      TEXT PRIMARY KEY,
	model            TEXT NOT NULL,
	model_sha256     TEXT NOT NULL,
	embedding_tensor TEXT NOT NULL,
	preprocess       TEXT NOT NULL,
	layout           TEXT NOT NULL,
	input_size       TEXT NOT NULL,
	dim              INTEGER NOT NULL,
	first_seen       TEXT NOT NULL
);
-- A rowid table, not WITHOUT ROWID: its leaves keep a 5 KB vector inside
-- the page, where an index b-tree would spill it into overflow pages.
CREATE TABLE IF NOT EXISTS embeddings (
	fingerprint  TEXT NOT NULL,
	image_sha256 TEXT NOT NULL,
	resize       TEXT NOT NULL,
	dim          INTEGER NOT NULL,
	vector       BLOB NOT NULL,
	logits       BLOB,
	computed_at  TEXT NOT NULL,
	UNIQUE (fingerprint, image_sha256, resize)
);
CREATE TABLE IF NOT EXISTS paths (
	path         TEXT PRIMARY KEY,
	image_sha256 TEXT NOT NULL,
	size         INTEGER NOT NULL,
	mtime_ns     INTEGER NOT NULL,
	label        TEXT NOT NULL DEFAULT '',
	seen_at      TEXT NOT NULL,
	inode        INTEGER NOT NULL DEFAULT 0,
	ctime_ns     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS paths_by_image ON paths (image_sha256);
` + runsSchema

// Cache is an embedding cache in one SQLite file. It is safe for concurrent
// use by several goroutines and by several processes.
type Cache struct {
	db       *sql.DB
	path     string
	version  int  // schema version of the file
	readOnly bool // opened by OpenCacheReadOnly
	// precision stores new embeddings; overflows counts half-precision
	// overflows.
	precision Precision
	overflows atomic.Int64

	getStmt *sql.Stmt
}

// OpenCache opens the cache at path, creating it (and its folder) when it does
// not exist. An existing file must be a transfer cache of this or an older
// schema version; anything else is refused untouched, with ErrNotCache or
// ErrCacheTooNew.
func OpenCache(path string) (*Cache, error) {
	return OpenCacheWith(path, CacheOptions{})
}

// CacheOptions configure OpenCacheWith.
type CacheOptions struct {
	// Precision is how a new cache stores embeddings (Float32 when empty).
	// An existing cache keeps its own; asking another of it is
	// ErrPrecision.
	Precision Precision
}

// ErrPrecision reports a precision asked of a cache that stores another.
var ErrPrecision = errors.New("the cache stores another precision")

// OpenCacheWith is OpenCache with options.
func OpenCacheWith(path string, opts CacheOptions) (*Cache, error) {
	c, err := openRetrying(path)
	if err != nil {
		return nil, err
	}
	if err := c.setPrecision(opts.Precision); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// setPrecision records a new cache's precision, or checks an existing
// one's against want.
func (c *Cache) setPrecision(want Precision) error {
	var have string
	err := c.db.QueryRow(`SELECT value FROM meta WHERE key = 'precision'`).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Older caches and the default store float32; only a new, empty
		// cache can be made float16 (one look for a row, not a count).
		c.precision = Float32
		if want != Float16 {
			return nil
		}
		var any bool
		if err := c.db.QueryRow(`SELECT EXISTS (SELECT 1 FROM embeddings)`).Scan(&any); err != nil {
			return c.fail(err)
		}
		if any {
			return fmt.Errorf("cache %s: %w: it holds float32 embeddings; float16 applies to a new cache (pass another --cache)", c.path, ErrPrecision)
		}
		if _, err := c.db.Exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('precision', ?)`, string(want)); err != nil {
			return c.fail(err)
		}
		c.precision = want
	case err != nil:
		return c.fail(err)
	default:
		c.precision = Precision(have)
		if want != "" && want != c.precision {
			return fmt.Errorf("cache %s: %w: it stores %s; %s applies to a new cache (pass another --cache)", c.path, ErrPrecision, have, want)
		}
	}
	return nil
}

// Precision returns how the cache stores new embeddings.
func (c *Cache) Precision() Precision {
	if c.precision == "" {
		return Float32
	}
	return c.precision
}

// Overflows counts the values stored as ±MaxFloat16 because they were
// beyond half precision's range, since the cache was opened.
func (c *Cache) Overflows() int64 { return c.overflows.Load() }

func openRetrying(path string) (*Cache, error) {
	// Processes that open a new cache at the same moment race to create
	// it; SQLite answers the loser's switch to WAL with SQLITE_BUSY without
	// waiting, so the whole opening is retried within the busy timeout.
	deadline := time.Now().Add(busyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		c, err := openCache(path)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(wait)
	}
}

// isBusy reports SQLite's "database is locked".
func isBusy(err error) bool {
	return strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")
}

func openCache(path string) (*Cache, error) {
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return nil, fmt.Errorf("cache %s is a directory; a cache is a file, such as .transfer/cache.db", path)
		}
		if st.Size() > 0 {
			if _, err := checkExisting(path); err != nil {
				return nil, err
			}
		}
	} else if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("cache %s: cannot create its folder (%w); choose a path in a writable folder", path, err)
		}
	} else {
		return nil, fmt.Errorf("cache %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", path, err)
	}
	c := &Cache{db: db, path: path}
	if err := c.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("cache %s: %w", path, describeSQLiteError(err))
	}
	return c, nil
}

// OpenCacheReadOnly opens an existing cache for reading only: nothing is
// created, upgraded or written, a missing file is an error (wrapping
// os.ErrNotExist), and a cache on a read-only file system opens too. Put
// fails with ErrCacheReadOnly.
func OpenCacheReadOnly(path string) (*Cache, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("cache %s is a directory; a cache is a file, such as .transfer/cache.db", path)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("cache %s: %w (the file is empty)", path, ErrNotCache)
	}
	version, err := checkExisting(path)
	if err != nil {
		return nil, err
	}
	db, err := openReadOnly(path)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", path, describeSQLiteError(err))
	}
	c := &Cache{db: db, path: path, version: version, readOnly: true}
	var p string
	if db.QueryRow(`SELECT value FROM meta WHERE key = 'precision'`).Scan(&p) == nil {
		c.precision = Precision(p)
	}
	if c.getStmt, err = db.Prepare(getQuery); err != nil {
		db.Close()
		return nil, fmt.Errorf("cache %s: %w", path, describeSQLiteError(err))
	}
	return c, nil
}

// openReadOnly opens path read-only. SQLite reads a WAL database through
// its -shm file, which it cannot create on a read-only file system; the
// file is then opened as immutable, which needs none (nobody can be
// writing to it there).
func openReadOnly(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, err
	}
	var n int
	if err = db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&n); err == nil {
		return db, nil
	}
	db.Close()
	if !strings.Contains(err.Error(), "unable to open") && !strings.Contains(err.Error(), "readonly") && !strings.Contains(err.Error(), "read-only") {
		return nil, err
	}
	db, err2 := sql.Open("sqlite", dsn(path, true)+"&immutable=1")
	if err2 != nil {
		return nil, err
	}
	if err2 = db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&n); err2 != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

// dsn builds the driver's connection string: WAL journal so readers never
// block the writer, synchronous=NORMAL (a committed batch survives a crash of
// the process; only a power cut can lose the last ones), a busy timeout so
// concurrent processes queue instead of failing, and BEGIN IMMEDIATE so a
// transaction takes the write lock up front and cannot deadlock on upgrade.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "NORMAL")
		q.Set("_txlock", "immediate")
		// A vector of 1280 float32 is 5 KB: 16 KB pages hold three
		// without overflow chains (4 KB pages would need two pages and
		// a chain each). Only a new file takes the page size.
		q.Add("_pragma", "page_size(16384)")
	}
	// Reads through a memory map cost no system call per page, which is
	// what loading tens of thousands of vectors is made of. SQLite maps at
	// most its compiled limit (2 GB here), so a larger cache is read
	// through the page cache beyond it.
	q.Add("_pragma", "mmap_size(4294967296)")
	// Both indexes of the embeddings are keyed by SHA-256, so every insert
	// lands on a random page of each, and a checkpoint every 1,000 pages
	// (SQLite's default) writes the same index pages back again and again
	// once a cache holds some 100,000 embeddings: writes fell from 5,900/s
	// to 4,100/s over the first 300,000. Checkpoints every 10,000 pages (a
	// WAL of up to 160 MB) keep 5,100-6,900/s (BENCHMARKS.md). A larger
	// page cache kept writes flatter still but made loading a million
	// embeddings 1.7x slower, so it stays at SQLite's default.
	if !readOnly {
		q.Add("_pragma", "wal_autocheckpoint(10000)")
	}
	q.Set("_busy_timeout", strconv.Itoa(int(busyTimeout.Milliseconds())))
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// checkExisting checks that path is a cache of a schema this version reads,
// before anything could write to it, and returns its schema version. A file
// that is not an SQLite database is refused from its first bytes, without
// SQLite opening it; reading another program's database read-only can make
// SQLite create its -wal and -shm files, which are removed again when it is
// refused.
func checkExisting(path string) (version int, err error) {
	head := make([]byte, len(sqliteHeader))
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("cache %s: %w", path, err)
	}
	n, _ := io.ReadFull(f, head)
	f.Close()
	// Only a whole header of other bytes settles it here: a file that
	// another process is creating can still be shorter, or zeros, and
	// SQLite's own reading below waits for it.
	if n == len(head) && string(head) != sqliteHeader && strings.Trim(string(head), "\x00") != "" {
		return 0, fmt.Errorf("cache %s: %w (it is not an SQLite database); it was left untouched", path, ErrNotCache)
	}
	var created []string
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Lstat(path + suffix); errors.Is(err, os.ErrNotExist) {
			created = append(created, path+suffix)
		}
	}
	defer func() {
		if errors.Is(err, ErrNotCache) || errors.Is(err, ErrCacheTooNew) {
			for _, p := range created {
				if st, serr := os.Lstat(p); serr == nil && st.Mode().IsRegular() && (st.Size() == 0 || strings.HasSuffix(p, "-shm")) {
					os.Remove(p)
				}
			}
		}
	}()
	db, err := openReadOnly(path)
	if err != nil {
		if strings.Contains(err.Error(), "not a database") {
			return 0, fmt.Errorf("cache %s: %w (it is not an SQLite database); it was left untouched", path, ErrNotCache)
		}
		return 0, fmt.Errorf("cache %s: %w", path, describeSQLiteError(err))
	}
	defer db.Close()
	// All reads in one transaction: one snapshot. Separate reads could see
	// the file before and after another process created the cache, and
	// take its tables without identity for somebody else's.
	tx, err := db.Begin()
	if err != nil {
		return 0, fmt.Errorf("cache %s: %w", path, describeSQLiteError(err))
	}
	defer tx.Rollback()
	var metas, tables int
	err = tx.QueryRow(`SELECT count(*) FILTER (WHERE type = 'table' AND name = 'meta'), count(*) FROM sqlite_master`).Scan(&metas, &tables)
	if err != nil {
		if strings.Contains(err.Error(), "not a database") {
			return 0, fmt.Errorf("cache %s: %w (it is not an SQLite database); it was left untouched", path, ErrNotCache)
		}
		return 0, fmt.Errorf("cache %s: %w", path, describeSQLiteError(err))
	}
	if tables == 0 {
		return 0, nil // an empty database: safe to initialise
	}
	// A failed read must not pass for a missing value: a busy database
	// would otherwise look like somebody else's.
	var app, schemaVersion string
	if metas == 1 {
		for key, dst := range map[string]*string{"app": &app, "schema_version": &schemaVersion} {
			err := tx.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(dst)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return 0, fmt.Errorf("cache %s: %w", path, describeSQLiteError(err))
			}
		}
	}
	if app != cacheApp {
		return 0, fmt.Errorf("cache %s: %w (an SQLite database of something else); it was left untouched", path, ErrNotCache)
	}
	v, err := strconv.Atoi(schemaVersion)
	if err != nil {
		return 0, fmt.Errorf("cache %s: %w: schema version %q", path, ErrNotCache, schemaVersion)
	}
	if v > CacheSchemaVersion {
		return v, fmt.Errorf("cache %s: %w (schema %d; this transfer reads up to %d): upgrade transfer to use it", path, ErrCacheTooNew, v, CacheSchemaVersion)
	}
	return v, nil
}

func describeSQLiteError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "readonly") || strings.Contains(msg, "read-only") || strings.Contains(msg, "unable to open"):
		return fmt.Errorf("%w (is the cache's folder writable?)", err)
	case strings.Contains(msg, "full"):
		return fmt.Errorf("%w (the disk is full: free space, or put the cache elsewhere)", err)
	case strings.Contains(msg, "disk I/O error"):
		// SQLite's word for a failed write of the file or of its -wal
		// and -shm files beside it (4874: no room for the shared-memory
		// file), which names neither the disk nor a fix.
		return fmt.Errorf("%w (SQLite could not write the cache or its -wal and -shm files beside it: the disk may be full or the folder not writable; free space, or put the cache elsewhere with --cache)", err)
	}
	return err
}

// init creates the schema and its identity in one transaction, so that
// another process checking the file sees either no tables or a whole cache.
func (c *Cache) init() error {
	tx, err := c.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The version is read inside the write transaction, so that of two
	// processes opening an old cache at once only the first upgrades it.
	var version string
	err = tx.QueryRow(`SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&version)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err != nil && strings.Contains(err.Error(), "no such table")):
		version = ""
	case err != nil:
		return err
	}
	if version == "" {
		if _, err := tx.Exec(schema); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('app', ?), ('schema_version', ?), ('created', ?)`,
			cacheApp, strconv.Itoa(CacheSchemaVersion), now()); err != nil {
			return err
		}
		c.version = CacheSchemaVersion
	} else {
		v, err := strconv.Atoi(version)
		if err != nil || v < 1 || v > CacheSchemaVersion {
			return fmt.Errorf("%w: schema version %q", ErrNotCache, version)
		}
		for ; v < CacheSchemaVersion; v++ {
			if _, err := tx.Exec(migrations[v-1]); err != nil {
				return fmt.Errorf("upgrading the cache from schema %d to %d: %w", v, v+1, err)
			}
		}
		if _, err := tx.Exec(`UPDATE meta SET value = ? WHERE key = 'schema_version'`, strconv.Itoa(v)); err != nil {
			return err
		}
		c.version = v
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if c.getStmt, err = c.db.Prepare(getQuery); err != nil {
		return err
	}
	return nil
}

const getQuery = `SELECT dim, vector, logits FROM embeddings WHERE fingerprint = ? AND image_sha256 = ? AND resize = ?`

// now is the time stamp of records: UTC with fixed-width nanoseconds, so
// that text order is time order.
func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z") }

// fail names the cache in an error from SQLite, with what to do about
// the usual ones.
func (c *Cache) fail(err error) error {
	return fmt.Errorf("cache %s: %w", c.path, describeSQLiteError(err))
}

// SchemaVersion returns the schema version of the file as opened: this
// transfer's CacheSchemaVersion once it was upgraded, an older one when it
// was opened read-only.
func (c *Cache) SchemaVersion() int { return c.version }

// Path returns the cache file's path.
func (c *Cache) Path() string { return c.path }

// Close closes the database. Committed batches are durable before it.
func (c *Cache) Close() error {
	if c.getStmt != nil {
		c.getStmt.Close()
	}
	return c.db.Close()
}

// Backbone describes a backbone whose embeddings the cache holds.
type Backbone struct {
	Fingerprint     string
	Model           string
	ModelSHA256     string
	EmbeddingTensor string
	Preprocess      string
	Layout          string
	InputSize       string
	Dim             int
}

// AddBackbone records b, keeping the first record of a fingerprint.
func (c *Cache) AddBackbone(b Backbone) error {
	if c.readOnly {
		return fmt.Errorf("cache %s: %w", c.path, ErrCacheReadOnly)
	}
	_, err := c.db.Exec(`INSERT OR IGNORE INTO backbones VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.Fingerprint, b.Model, b.ModelSHA256, b.EmbeddingTensor, b.Preprocess, b.Layout, b.InputSize, b.Dim, now())
	if err != nil {
		return c.fail(err)
	}
	return nil
}

// Key selects the embeddings of one backbone and pixel specification.
type Key struct {
	Fingerprint string
	// Pixels is the PixelSpec's string: the resize and the decoder.
	Pixels string
}

// Entry is a cached embedding.
type Entry struct {
	Vector []float32
	// Logits is the model's original output, when it was kept.
	Logits []float32
}

// Get returns the embedding of the image with digest sha under k.
func (c *Cache) Get(ctx context.Context, k Key, sha string) (Entry, bool, error) {
	var dim int
	var vec, logits []byte
	err := c.getStmt.QueryRowContext(ctx, k.Fingerprint, sha, k.Pixels).Scan(&dim, &vec, &logits)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, c.fail(err)
	}
	e := Entry{Vector: decodeValues(vec, dim)}
	if len(e.Vector) != dim {
		return Entry{}, false, fmt.Errorf("cache %s: entry %s has %d values, recorded dimension %d (run transfer cache check)", c.path, sha, len(e.Vector), dim)
	}
	if logits != nil {
		e.Logits = decodeVector(logits)
	}
	return e, true, nil
}

// Row is one image's record for Put. Vector may be nil for an image whose
// embedding was already cached and whose path record alone changed.
type Row struct {
	SHA256  string
	Path    string
	Size    int64
	MtimeNS int64
	// Inode and CtimeNS identify the file where the platform has them
	// (0 elsewhere): a rewritten file gets a new change time even when its
	// size and modification time are restored.
	Inode   int64
	CtimeNS int64
	Label   string
	// Pixels, when set, is the row's pixel specification in place of the
	// key's: a PNG extracted with the TurboJPEG decoder is stored without
	// the decoder, which does not touch its pixels.
	Pixels string
	Vector []float32
	Logits []float32
}

// Put stores rows in one transaction: all of them or, on error, none.
func (c *Cache) Put(ctx context.Context, k Key, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	if c.readOnly {
		return fmt.Errorf("cache %s: %w", c.path, ErrCacheReadOnly)
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return c.fail(err)
	}
	defer tx.Rollback()
	emb, err := tx.PrepareContext(ctx, `INSERT INTO embeddings (fingerprint, image_sha256, resize, dim, vector, logits, computed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET logits = coalesce(embeddings.logits, excluded.logits)`)
	if err != nil {
		return c.fail(err)
	}
	defer emb.Close()
	pth, err := tx.PrepareContext(ctx, `INSERT INTO paths (path, image_sha256, size, mtime_ns, label, seen_at, inode, ctime_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (path) DO UPDATE SET image_sha256 = excluded.image_sha256, size = excluded.size, mtime_ns = excluded.mtime_ns,
			inode = excluded.inode, ctime_ns = excluded.ctime_ns,
			label = CASE WHEN excluded.label = '' THEN paths.label ELSE excluded.label END, seen_at = excluded.seen_at`)
	if err != nil {
		return c.fail(err)
	}
	defer pth.Close()
	t := now()
	for _, r := range rows {
		if r.Vector != nil {
			var logits []byte
			if r.Logits != nil {
				logits = encodeVector(r.Logits)
			}
			pixels := k.Pixels
			if r.Pixels != "" {
				pixels = r.Pixels
			}
			var vec []byte
			if c.precision == Float16 {
				var over int
				vec, over = encodeHalf(r.Vector)
				c.overflows.Add(int64(over))
			} else {
				vec = encodeVector(r.Vector)
			}
			if _, err := emb.ExecContext(ctx, k.Fingerprint, r.SHA256, pixels, len(r.Vector), vec, logits, t); err != nil {
				return c.fail(err)
			}
		}
		if r.Path != "" {
			if _, err := pth.ExecContext(ctx, r.Path, r.SHA256, r.Size, r.MtimeNS, r.Label, t, r.Inode, r.CtimeNS); err != nil {
				return c.fail(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return c.fail(err)
	}
	return nil
}

// encodeVector stores float32 values little-endian, 4 bytes each.
func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVector(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// pathRecord is what the cache knows about a file path.
type pathRecord struct {
	sha                           string
	size, mtimeNS, inode, ctimeNS int64
}

// pathRecords returns the records of the given absolute paths.
func (c *Cache) pathRecords(ctx context.Context, paths []string) (map[string]pathRecord, error) {
	out := make(map[string]pathRecord, len(paths))
	var mu sync.Mutex
	q := `SELECT path, image_sha256, size, mtime_ns, inode, ctime_ns FROM paths WHERE path IN `
	if c.version < 2 { // a read-only cache of schema 1
		q = `SELECT path, image_sha256, size, mtime_ns, 0, 0 FROM paths WHERE path IN `
	}
	err := c.inChunks(ctx, q, nil, paths, func(rows *sql.Rows) error {
		var p string
		var r pathRecord
		if err := rows.Scan(&p, &r.sha, &r.size, &r.mtimeNS, &r.inode, &r.ctimeNS); err != nil {
			return err
		}
		mu.Lock()
		out[p] = r
		mu.Unlock()
		return nil
	})
	return out, err
}

// entries returns the cached embeddings under k of the given digests; with
// vectors false it returns the entries without their values (nil Vector),
// to tell which digests are cached and whether they have logits.
func (c *Cache) entries(ctx context.Context, k Key, shas []string, vectors bool) (map[string]Entry, error) {
	out := make(map[string]Entry, len(shas))
	var mu sync.Mutex
	cols := "image_sha256, dim, NULL, logits IS NOT NULL, NULL"
	if vectors {
		cols = "image_sha256, dim, vector, logits IS NOT NULL, logits"
	}
	q := `SELECT ` + cols + ` FROM embeddings WHERE fingerprint = ? AND resize = ? AND image_sha256 IN `
	err := c.inChunks(ctx, q, []any{k.Fingerprint, k.Pixels}, shas, func(rows *sql.Rows) error {
		var sha string
		var dim int
		// RawBytes point into SQLite's memory: decoding from them saves a
		// copy of every vector.
		var vec, logits sql.RawBytes
		var hasLogits bool
		if err := rows.Scan(&sha, &dim, &vec, &hasLogits, &logits); err != nil {
			return err
		}
		e := Entry{}
		if vectors {
			if e.Vector = decodeValues(vec, dim); len(e.Vector) != dim {
				return fmt.Errorf("entry %s has %d values, recorded dimension %d (run transfer cache check)", sha, len(e.Vector), dim)
			}
			if logits != nil {
				e.Logits = decodeVector(logits)
			}
		} else if hasLogits {
			e.Logits = []float32{} // present, not loaded
		}
		mu.Lock()
		out[sha] = e
		mu.Unlock()
		return nil
	})
	return out, err
}

// inChunks runs query, with its fixed arguments and then "(?, ?, ...)"
// appended for chunks of keys, so that thousands of keys cost a few queries
// instead of one each. The chunks run on one goroutine per core, each with
// its own connection; scan must be safe for concurrent use.
func (c *Cache) inChunks(ctx context.Context, query string, fixed []any, keys []string, scan func(*sql.Rows) error) error {
	const chunk = 500
	var chunks [][]string
	for start := 0; start < len(keys); start += chunk {
		chunks = append(chunks, keys[start:min(start+chunk, len(keys))])
	}
	next := make(chan []string)
	errs := make(chan error, len(chunks))
	var wg sync.WaitGroup
	for g := 0; g < min(runtime.NumCPU(), len(chunks)); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for part := range next {
				errs <- c.queryIn(ctx, query, fixed, part, scan)
			}
		}()
	}
	for _, part := range chunks {
		next <- part
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Cache) queryIn(ctx context.Context, query string, fixed []any, part []string, scan func(*sql.Rows) error) error {
	vals := append([]any(nil), fixed...)
	for _, a := range part {
		vals = append(vals, a)
	}
	rows, err := c.db.QueryContext(ctx, query+"("+strings.Repeat("?,", len(part)-1)+"?)", vals...)
	if err != nil {
		return c.fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("cache %s: %w", c.path, err)
		}
	}
	if err := rows.Err(); err != nil {
		return c.fail(err)
	}
	return nil
}
