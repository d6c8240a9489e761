package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/cmd/transfer/internal/tutorial"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/download"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/turbojpeg"
	"github.com/transfer-go/transfer/models"
)

// Finding levels, worst last.
const (
	findingOK   = "OK"
	findingWarn = "WARN"
	findingFail = "FAIL"
)

// finding is one line of doctor's account.
type finding struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	// Fix says what to do about a WARN or FAIL.
	Fix string `json:"fix,omitempty"`
	// Blocks is set on a FAIL that keeps extract from running.
	Blocks bool `json:"blocks_extract,omitempty"`
}

var (
	deepFlag   = &cli.BoolFlag{Name: "deep", Usage: "also verify every row of the cache (cache check)"}
	onlineFlag = &cli.BoolFlag{Name: "online", Usage: "also try to reach the catalogue's download servers (or --mirror)"}
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "say why transfer does not work or is slow here: ONNX Runtime, CUDA, libjpeg-turbo, cores, cache, models, network",
		Description: "Each line is OK, WARN or FAIL, with what to do. The exit status is 1 when a FAIL keeps extract from running, else 0. " +
			"--device cuda also opens a model on the GPU; --deep verifies the cache row by row; --online tries the download servers.",
		Flags:  []cli.Flag{ortLibFlag, deviceFlag, cacheFlag, modelsDirFlag, mirrorFlag, deepFlag, onlineFlag, formatFlag, jsonFlag},
		Action: doctor,
	}
}

func doctor(c *cli.Context) error {
	format, err := outputFormat(c, formatText, formatJSON, formatCSV)
	if err != nil {
		return err
	}
	device, err := backbone.ParseDevice(c.String(deviceFlag.Name))
	if err != nil {
		return usageError{err}
	}
	var fs []finding
	fs = append(fs, doctorRuntime(c, device)...)
	fs = append(fs, doctorJPEG(), doctorCores(c), doctorKernels())
	fs = append(fs, doctorCache(c)...)
	fs = append(fs, doctorModels(c)...)
	if c.Bool(onlineFlag.Name) {
		fs = append(fs, doctorNetwork(c)...)
	}
	blocked := false
	for _, f := range fs {
		blocked = blocked || f.Blocks
	}
	switch format {
	case formatJSON:
		if err := printJSONIf(c, fs); err != nil {
			return err
		}
	case formatCSV:
		rows := [][]string{{"status", "check", "detail", "fix", "blocks"}}
		for _, f := range fs {
			rows = append(rows, []string{f.Status, f.Check, f.Detail, f.Fix, strconv.FormatBool(f.Blocks)})
		}
		if err := writeCSV(c, rows); err != nil {
			return err
		}
	default:
		tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
		for _, f := range fs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Status, f.Check, f.Detail)
			if f.Fix != "" && !strings.Contains(f.Detail, f.Fix) {
				fmt.Fprintf(tw, "\t\t→ %s\n", f.Fix)
			}
		}
		tw.Flush()
	}
	if blocked {
		// A plain error: exit 1, the status of a run that cannot work.
		return errors.New("a FAIL above keeps transfer extract from running")
	}
	return nil
}

func doctorRuntime(c *cli.Context, device backbone.Device) []finding {
	path, src, err := backbone.FindLibrary(c.String(ortLibFlag.Name))
	if err != nil {
		return []finding{{Check: "onnxruntime", Status: findingFail, Detail: err.Error(), Fix: backbone.InstallHint, Blocks: true}}
	}
	if _, err := backbone.LoadRuntime(c.String(ortLibFlag.Name)); err != nil {
		fix := backbone.InstallHint
		if errors.Is(err, backbone.ErrNoCgo) {
			fix = "rebuild transfer with CGO_ENABLED=1 and a C compiler"
		}
		return []finding{{Check: "onnxruntime", Status: findingFail, Detail: fmt.Sprintf("%s (found in the %s) does not load: %v", path, src, err), Fix: fix, Blocks: true}}
	}
	loaded, version := backbone.RuntimeInfo()
	fs := []finding{{Check: "onnxruntime", Status: findingOK,
		Detail: fmt.Sprintf("ONNX Runtime %s, %s (found in the %s), C API %d (transfer needs ONNX Runtime >= 1.24)", version, loaded, src, backbone.APIVersion)}}
	cuda := finding{Check: "cuda provider", Status: findingOK, Detail: "this ONNX Runtime has the CUDA execution provider"}
	if err := backbone.CUDAProvider(); err != nil {
		cuda.Detail = "no CUDA execution provider in this ONNX Runtime (a CPU build); --device cuda is not available"
		if device.CUDA {
			cuda.Detail += ": " + err.Error()
		}
		if device.CUDA {
			cuda.Status, cuda.Fix = findingFail, "install the GPU build of ONNX Runtime (onnxruntime-gpu) and point --ort-lib or ONNXRUNTIME_LIB at it, or use --device cpu"
			cuda.Blocks = true
		}
	}
	fs = append(fs, cuda)
	if device.CUDA && cuda.Status == findingOK {
		fs = append(fs, doctorGPU(device))
	}
	return fs
}

// doctorGPU opens a small generated model on the device: the one way to
// know that a GPU is there and usable.
func doctorGPU(d backbone.Device) finding {
	f := finding{Check: "gpu " + d.String()}
	p := filepath.Join(os.TempDir(), fmt.Sprintf("transfer-doctor-%d.onnx", os.Getpid()))
	defer os.Remove(p)
	err := mobilenet.New(mobilenet.Small(mobilenet.Torch, 1)).WriteFile(p)
	var b *backbone.Backbone
	if err == nil {
		b, err = backbone.Open(p, backbone.Options{Device: d})
	}
	if err != nil {
		f.Status, f.Detail, f.Blocks = findingFail, err.Error(), true
		f.Fix = "check nvidia-smi, CUDA_VISIBLE_DEVICES and the CUDA/cuDNN libraries ONNX Runtime needs, or use --device cpu"
		return f
	}
	b.Destroy()
	f.Status, f.Detail = findingOK, "a model opened and ran on it"
	return f
}

func doctorJPEG() finding {
	if turbojpeg.Available() {
		return finding{Check: "libjpeg-turbo", Status: findingOK, Detail: "found: JPEGs decode with libjpeg-turbo (--decoder auto)"}
	}
	return finding{Check: "libjpeg-turbo", Status: findingWarn, Detail: "not found: JPEGs decode with Go's decoder, 2–4× slower, large photos much more",
		Fix: "JPEG decoding 2–4× faster: Debian/Ubuntu: apt-get install libturbojpeg0; Fedora: dnf install turbojpeg; macOS: brew install jpeg-turbo"}
}

func doctorCores(c *cli.Context) finding {
	n := runtime.NumCPU()
	f := finding{Check: "cores", Status: findingOK,
		Detail: fmt.Sprintf("%d cores (GOMAXPROCS %d): ONNX Runtime uses %d intra-op threads, %d decoding workers, %d images per inference call",
			n, runtime.GOMAXPROCS(0), n, n, defaults.Batch)}
	if n == 1 {
		f.Status, f.Fix = findingWarn, "one core: decoding and inference take turns; extraction runs at about half the speed of two cores"
	}
	return f
}

// doctorKernels says which of the head's kernels run here: plain Go is a
// tenth of the speed, and on amd64 means a CPU without AVX2 or a purego
// build.
func doctorKernels() finding {
	k := head.Kernels()
	f := finding{Check: "head kernels", Status: findingOK, Detail: k + ": training and prediction at this CPU's vector width"}
	if k == "go" {
		f.Status, f.Detail = findingWarn, "go: plain Go products, about a tenth of the AVX2 speed"
		f.Fix = "on amd64: a CPU with AVX2 and FMA, and a build without -tags purego; elsewhere this is what the head runs"
	}
	return f
}

func doctorCache(c *cli.Context) []finding {
	p := c.String(cacheFlag.Name)
	st, err := os.Stat(p)
	if err != nil {
		return []finding{{Check: "cache", Status: findingOK, Detail: fmt.Sprintf("%s does not exist yet; extract creates it", p)}}
	}
	cache, err := dataset.OpenCacheReadOnly(p)
	if err != nil {
		return []finding{{Check: "cache", Status: findingFail, Detail: err.Error(), Fix: "pass another --cache, or move the file away (it is not modified)", Blocks: true}}
	}
	defer cache.Close()
	ctx := c.Context
	s, err := cache.Stats(ctx)
	if err != nil {
		return []finding{{Check: "cache", Status: findingFail, Detail: err.Error(), Fix: "run transfer cache check", Blocks: true}}
	}
	f := finding{Check: "cache", Status: findingOK, Detail: fmt.Sprintf("%s: schema %d, %.1f MB, %d distinct images", p, cache.SchemaVersion(), float64(st.Size())/1e6, s.Images)}
	if v := cache.SchemaVersion(); v < dataset.CacheSchemaVersion {
		f.Detail += fmt.Sprintf(" (the next command that writes upgrades it to schema %d in place)", dataset.CacheSchemaVersion)
	}
	fs := []finding{f}
	for _, b := range s.Backbones {
		fs = append(fs, finding{Check: "cache rows", Status: findingOK, Detail: fmt.Sprintf("%s (%.12s), %s: %d embeddings", filepath.Base(b.Model), b.Fingerprint, b.Resize, b.Entries)})
	}
	if c.Bool(deepFlag.Name) {
		probs, rows, err := cache.Check(ctx, 5)
		switch {
		case err != nil:
			fs = append(fs, finding{Check: "cache check", Status: findingFail, Detail: err.Error(), Fix: "restore the cache from a copy, or delete it and extract again", Blocks: true})
		case len(probs) > 0:
			fs = append(fs, finding{Check: "cache check", Status: findingFail, Detail: fmt.Sprintf("%d problems in %d rows, first: %v", len(probs), rows, probs[0]),
				Fix: "run transfer cache check for the list; extract recomputes bad rows when they are deleted", Blocks: true})
		default:
			fs = append(fs, finding{Check: "cache check", Status: findingOK, Detail: fmt.Sprintf("%d rows verified, no problems", rows)})
		}
	}
	return fs
}

func doctorModels(c *cli.Context) []finding {
	dir, err := modelsDir(c)
	if err != nil {
		return []finding{{Check: "models", Status: findingWarn, Detail: err.Error(), Fix: "pass --models-dir"}}
	}
	var fs []finding
	for _, e := range models.Catalogue {
		p := e.Path(dir)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		f := finding{Check: "model " + e.Name, Status: findingOK, Detail: p + ": sha256 verified"}
		if ok, err := e.File().Verify(p); err != nil || !ok {
			f.Status, f.Detail = findingFail, p+": its sha256 is not the catalogue's (a damaged or replaced file)"
			f.Fix = "delete it and run transfer models pull " + e.Name
		}
		fs = append(fs, f)
	}
	if err := writable(dir); err != nil {
		return append(fs, finding{Check: "models", Status: findingWarn, Detail: "models pull cannot write into " + dir + ": " + err.Error(),
			Fix: "pass --models-dir (or set XDG_CACHE_HOME) to a folder you can write; models given by path still work"})
	}
	if len(fs) == 0 {
		fs = append(fs, finding{Check: "models", Status: findingOK, Detail: "no catalogue model pulled into " + dir + " (transfer models pull mobilenetv2-12; any ONNX file works by its path)"})
	}
	return fs
}

// writable reports whether files can be made in dir, or in its nearest
// existing parent when dir does not exist yet (pull would create it),
// by making one and removing it: permissions, read-only file systems and
// a file in the way all show.
func writable(dir string) error {
	d := dir
	for {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is a file, not a folder", d)
			}
			break
		}
		parent := filepath.Dir(d)
		if parent == d {
			return err
		}
		d = parent
	}
	f, err := os.CreateTemp(d, ".transfer-doctor-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

func doctorNetwork(c *cli.Context) []finding {
	opts := download.Options{Mirror: c.String(mirrorFlag.Name)}
	files := []download.File{}
	for _, e := range models.Catalogue[:1] {
		files = append(files, e.File())
	}
	files = append(files, tutorial.Photos)
	client := &http.Client{Timeout: 15 * time.Second}
	var fs []finding
	for _, f := range files {
		src := f.Source(opts)
		ctx, cancel := context.WithTimeout(c.Context, 15*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, src, nil)
		resp, err := client.Do(req)
		cancel()
		fd := finding{Check: "network " + f.Name, Status: findingOK, Detail: src + " answers"}
		switch {
		case err != nil:
			fd.Status, fd.Detail = findingWarn, fmt.Sprintf("%s: %v", src, err)
			fd.Fix = "without network access, serve the files of transfer models list --urls on a mirror (--mirror URL), or set HTTPS_PROXY"
		case resp.StatusCode >= 400:
			fd.Status, fd.Detail = findingWarn, fmt.Sprintf("%s answered %s", src, resp.Status)
			fd.Fix = "check the mirror holds " + f.Name
		}
		if resp != nil {
			resp.Body.Close()
		}
		fs = append(fs, fd)
	}
	return fs
}

// doctorHint ends errors that a broken installation causes.
const doctorHint = "run `transfer doctor` for an account of this machine"
