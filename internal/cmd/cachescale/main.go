// Command cachescale measures the embedding cache at scale: synthetic
// 1280-d embeddings written through Cache.Put in extraction-sized batches
// into 8 shard caches (as a sharded extraction writes them), merged into
// one, checked, then loaded for training exactly as train loads them (list
// the files, find each one's embedding by its path record) and used for one
// epoch of the head, in a child process whose peak RSS is reported.
//
//	cachescale -n 1000000 -precision float16 -dir DIR
//
// DIR keeps the image files (tiny placeholders, one per embedding; created
// once and reused) and the caches. The figures are in BENCHMARKS.md.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
)

const (
	dim     = 1280
	classes = 10
	batch   = 32
	shards  = 8
)

// embedder stands for a backbone whose every embedding is cached: Extract
// only needs its identity, and fails the run if it is ever asked to infer.
type embedder struct{ info backbone.Info }

func (e embedder) Info() backbone.Info { return e.info }
func (e embedder) Run(context.Context, []float32) (*backbone.Result, error) {
	return nil, fmt.Errorf("cachescale: an embedding was not found in the cache")
}

var info = backbone.Info{Layout: backbone.NHWC, Height: 224, Width: 224, Preprocess: backbone.Keras, Dim: dim,
	Fingerprint: "cachescale-synthetic", Features: backbone.Features{Tensor: "embedding"}}

func main() {
	n := flag.Int("n", 100000, "embeddings")
	prec := flag.String("precision", "float32", "cache precision: float32 or float16")
	dir := flag.String("dir", "", "working folder (required)")
	phase := flag.String("phase", "all", "all, or load (the child process)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "cachescale: -dir is required")
		os.Exit(2)
	}
	var err error
	switch *phase {
	case "all":
		err = all(*n, dataset.Precision(*prec), *dir)
	case "load":
		err = load(*dir, filepath.Join(*dir, "cache-"+*prec+".db"))
	default:
		err = fmt.Errorf("unknown phase %q", *phase)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cachescale:", err)
		os.Exit(1)
	}
}

func resizer() dataset.Resizer { return dataset.Resizer{Width: 224, Height: 224} }

func all(n int, prec dataset.Precision, dir string) error {
	ctx := context.Background()
	data := filepath.Join(dir, "data")
	start := time.Now()
	set, created, err := files(data, n)
	if err != nil {
		return err
	}
	fmt.Printf("n %d, precision %s, %d image files (%d created in %.1f s)\n", n, prec, len(set.Items), created, time.Since(start).Seconds())

	k := dataset.CacheKey(info, resizer(), dataset.GoDecoder)
	rng := rand.New(rand.NewPCG(1, 2))
	centres := make([][]float32, classes)
	for c := range centres {
		centres[c] = make([]float32, dim)
		for j := range centres[c] {
			centres[c][j] = float32(rng.ExpFloat64())
		}
	}
	var shardPaths []string
	var write time.Duration
	rows := make([]dataset.Row, 0, batch)
	for s := range shards {
		p := filepath.Join(dir, fmt.Sprintf("shard-%s-%d.db", prec, s))
		os.Remove(p)
		shardPaths = append(shardPaths, p)
		c, err := dataset.OpenCacheWith(p, dataset.CacheOptions{Precision: prec})
		if err != nil {
			return err
		}
		if err := c.AddBackbone(dataset.BackboneOf(info, "synthetic")); err != nil {
			return err
		}
		sh := set.Shard(dataset.Shard{Index: s, Count: shards})
		for i, it := range sh.Items {
			v := make([]float32, dim)
			for j := range v {
				// Post-ReLU6 averages: non-negative, class-structured.
				v[j] = max(0, centres[it.Label][j]+float32(rng.NormFloat64())*0.5)
			}
			st, err := os.Stat(it.Path)
			if err != nil {
				return err
			}
			abs, _ := filepath.Abs(it.Path)
			// The file's identity as extraction records it (dataset's
			// fileIdentity on Linux), so that loading finds each row by its
			// path record without reading the file.
			sys := st.Sys().(*syscall.Stat_t)
			rows = append(rows, dataset.Row{SHA256: digest(it.Path), Path: abs, Size: st.Size(), MtimeNS: st.ModTime().UnixNano(),
				Inode: int64(sys.Ino), CtimeNS: sys.Ctim.Sec*1e9 + sys.Ctim.Nsec, Vector: v})
			if len(rows) == batch || i == len(sh.Items)-1 {
				// Only the cache's work is timed, not making the rows.
				t0 := time.Now()
				if err := c.Put(ctx, k, rows); err != nil {
					return err
				}
				write += time.Since(t0)
				rows = rows[:0]
			}
		}
		if err := c.Close(); err != nil {
			return err
		}
	}
	fmt.Printf("write (Put alone): %.1f s, %.0f embeddings/s (8 shard caches, batches of %d)\n", write.Seconds(), float64(n)/write.Seconds(), batch)

	out := filepath.Join(dir, "cache-"+string(prec)+".db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(out + suffix)
	}
	t0 := time.Now()
	if _, err := dataset.MergeCaches(ctx, out, shardPaths...); err != nil {
		return err
	}
	fmt.Printf("merge of %d shards: %.1f s, %.0f embeddings/s\n", shards, time.Since(t0).Seconds(), float64(n)/time.Since(t0).Seconds())
	for _, p := range shardPaths {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(p + suffix)
		}
	}
	size := fileSize(out)
	fmt.Printf("file: %.1f MB, %.0f bytes/embedding\n", float64(size)/1e6, float64(size)/float64(n))

	c, err := dataset.OpenCache(out)
	if err != nil {
		return err
	}
	t0 = time.Now()
	probs, checked, err := c.Check(ctx, 10)
	c.Close()
	if err != nil {
		return err
	}
	fmt.Printf("cache check: %.1f s for %d embeddings, %d problems\n", time.Since(t0).Seconds(), checked, len(probs))

	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-phase", "load", "-precision", string(prec), "-dir", dir)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// load lists the image files and loads every embedding as train does, then
// trains the head for one epoch, reporting time and peak RSS after each.
func load(dir, cache string) error {
	ctx := context.Background()
	t0 := time.Now()
	set, err := dataset.FromFolders(filepath.Join(dir, "data"))
	if err != nil {
		return err
	}
	c, err := dataset.OpenCache(cache)
	if err != nil {
		return err
	}
	x, err := dataset.Extract(ctx, set, embedder{info}, c, dataset.ExtractOptions{Resizer: resizer(), Decode: dataset.DecodeOptions{Decoder: dataset.GoDecoder}, Collect: true})
	c.Close()
	if err != nil {
		return err
	}
	if x.Cached != len(set.Items) {
		return fmt.Errorf("%s", x.Summary())
	}
	vectors, labels, _ := x.Rows(set)
	fmt.Printf("load for training: %.1f s (list %d files, find each by its path record, decode the vectors), %s\n", time.Since(t0).Seconds(), len(set.Items), rss())
	t0 = time.Now()
	d, err := head.NewData(vectors, labels, classes)
	if err != nil {
		return err
	}
	x, vectors = nil, nil
	fmt.Printf("float32 matrix for training: %.1f s, %s\n", time.Since(t0).Seconds(), rss())
	t0 = time.Now()
	opts := head.DefaultOptions()
	opts.Epochs = 1
	if _, _, err := head.Train(ctx, d, nil, opts); err != nil {
		return err
	}
	fmt.Printf("one epoch (Adam, batch %d): %.1f s, %s\n", opts.BatchSize, time.Since(t0).Seconds(), rss())
	return nil
}

// files makes n placeholder image files in 10 class folders, reusing what
// exists, and returns them as a labelled set.
func files(dir string, n int) (*dataset.Set, int, error) {
	created := 0
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("c%d", i%classes), fmt.Sprintf("%07d.jpg", i))
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if i < classes {
			os.MkdirAll(filepath.Dir(p), 0o755)
		}
		if err := os.WriteFile(p, []byte(strconv.Itoa(i)), 0o644); err != nil {
			return nil, 0, err
		}
		created++
	}
	set, err := dataset.FromFolders(dir)
	if err != nil {
		return nil, 0, err
	}
	if len(set.Items) != n {
		return nil, 0, fmt.Errorf("%s holds %d files, want %d: use a fresh -dir", dir, len(set.Items), n)
	}
	return set, created, nil
}

func digest(path string) string {
	b, _ := os.ReadFile(path)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func fileSize(p string) int64 {
	var total int64
	for _, suffix := range []string{"", "-wal"} {
		if st, err := os.Stat(p + suffix); err == nil {
			total += st.Size()
		}
	}
	return total
}

// rss reports this process's peak resident set and the current one split
// into anonymous memory and file-backed pages (the cache's memory map, which
// the kernel can drop under pressure), in MB (Linux).
func rss() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "RSS unknown"
	}
	defer f.Close()
	v := make(map[string]int64)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, val, ok := strings.Cut(sc.Text(), ":")
		if ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "kB")), 10, 64)
			v[k] = kb / 1024
		}
	}
	return fmt.Sprintf("peak RSS %d MB (now %d MB anonymous, %d MB file-backed)", v["VmHWM"], v["RssAnon"], v["RssFile"])
}
