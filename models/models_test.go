package models_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/models"
)

func TestCatalogue(t *testing.T) {
	e, ok := models.Lookup("mobilenetv2-12")
	if !ok || e.SHA256 != "c0c3f76d93fa3fd6580652a45618618a220fced18babf65774ed169de0432ad5" || e.Size != 13964571 ||
		e.Preprocess != backbone.Torch || e.Resize != dataset.ResizeCrop || e.Layout != backbone.NCHW {
		t.Errorf("mobilenetv2-12: %+v", e)
	}
	for _, name := range []string{"mobilenetv2-10", "mobilenetv2-7"} {
		if e, ok := models.Lookup(name); !ok || len(e.SHA256) != 64 || !strings.HasSuffix(e.URL, name+".onnx") {
			t.Errorf("%s: %+v", name, e)
		}
	}
	if e, ok := models.BySHA256("c1c513582d56afceff8516c73804e484c81c6a830712ab6d682253f4a3cd042f"); !ok || e.Name != "mobilenetv2-7" {
		t.Errorf("BySHA256: %v %v", e.Name, ok)
	}
}

func TestPull(t *testing.T) {
	body := []byte("pretend this is a 14 MB ONNX model")
	sum := sha256.Sum256(body)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/good.onnx":
			w.Write(body)
		case "/corrupt.onnx":
			w.Write(append([]byte{}, body[:10]...))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	e := models.Entry{Name: "good", URL: srv.URL + "/good.onnx", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))}
	var progressed int64
	p, err := models.Pull(context.Background(), e, dir, models.PullOptions{Progress: func(done, total int64) { progressed = done }})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != string(body) || progressed != int64(len(body)) {
		t.Errorf("pulled %q, progress %d", got, progressed)
	}
	// A second pull finds the verified file and downloads nothing.
	if _, err := models.Pull(context.Background(), e, dir, models.PullOptions{}); err != nil || hits.Load() != 1 {
		t.Errorf("second pull: %v, %d requests", err, hits.Load())
	}

	bad := e
	bad.Name, bad.URL, bad.Size = "corrupt", srv.URL+"/corrupt.onnx", 0
	if _, err := models.Pull(context.Background(), bad, dir, models.PullOptions{}); !errors.Is(err, models.ErrChecksum) {
		t.Errorf("corrupt download: %v", err)
	}
	missing := e
	missing.Name, missing.URL = "missing", srv.URL+"/missing.onnx"
	if _, err := models.Pull(context.Background(), missing, dir, models.PullOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing: %v", err)
	}
	offline := e
	offline.Name, offline.URL = "offline", "http://127.0.0.1:1/offline.onnx"
	_, err = models.Pull(context.Background(), offline, dir, models.PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "place it at") {
		t.Errorf("offline: %v", err)
	}
	// Nothing but the good model is left in the directory: no partial files.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "good.onnx" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v", names)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	if err := mobilenet.New(mobilenet.Small(mobilenet.TF2ONNX, 1)).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	r, err := models.Resolve(path, models.Settings{Preprocess: "raw", Resize: "crop"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Known || r.Options.Preprocess != backbone.Raw || r.Resize != dataset.ResizeCrop {
		t.Errorf("resolved %+v", r)
	}
	if _, err := models.Resolve("mobilenetv2-12", models.Settings{}, dir); err == nil || !strings.Contains(err.Error(), "transfer models pull mobilenetv2-12") {
		t.Errorf("unpulled catalogue model: %v", err)
	}
	if _, err := models.Resolve("no-such-model", models.Settings{}, dir); err == nil || !strings.Contains(err.Error(), "no catalogue model") {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := models.Resolve(path, models.Settings{Preprocess: "caffe"}, dir); err == nil {
		t.Error("accepted preprocessing caffe")
	}
}
