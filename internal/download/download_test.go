package download

import (
	"archive/zip"
	"bytes"
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
	"time"
)

func fileOf(name string, body []byte) File {
	sum := sha256.Sum256(body)
	return File{Name: name, URL: "http://origin.invalid/x/" + name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))}
}

// leftovers lists what is in dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestFetch(t *testing.T) {
	body := bytes.Repeat([]byte("model bytes "), 10000)
	var requests atomic.Int32
	mode := "ok"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/mirror/m.onnx" {
			http.NotFound(w, r)
			return
		}
		switch mode {
		case "ok":
			w.Write(body)
		case "wrong":
			w.Write(append(bytes.Clone(body[:len(body)-1]), 'X'))
		case "cut":
			// Declare the whole file, send half, hang up.
			w.Header().Set("Content-Length", "120000")
			w.Write(body[:60000])
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		case "slow":
			w.Header().Set("Content-Length", "120000")
			for i := 0; i < len(body); i += 1000 {
				if _, err := w.Write(body[i : i+1000]); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond)
			}
		}
	}))
	defer srv.Close()
	f := fileOf("m.onnx", body)
	opts := Options{Mirror: srv.URL + "/mirror/"}
	if got := f.Source(opts); got != srv.URL+"/mirror/m.onnx" {
		t.Fatalf("Source = %s", got)
	}

	for _, tc := range []struct {
		mode     string
		requests int32
		want     error
	}{
		{"wrong", 1, ErrChecksum},
		{"cut", 2, nil},
	} {
		dir := t.TempDir()
		mode = tc.mode
		requests.Store(0)
		err := Fetch(context.Background(), f, filepath.Join(dir, "m.onnx"), opts)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err %v, want %v", tc.mode, err, tc.want)
		}
		if n := requests.Load(); n != tc.requests {
			t.Errorf("%s: %d requests, want %d", tc.mode, n, tc.requests)
		}
		if left := leftovers(t, dir); len(left) != 0 {
			t.Errorf("%s left %v behind", tc.mode, left)
		}
	}

	// A slow server: progress is reported, and cancelling leaves nothing.
	dir := t.TempDir()
	mode = "slow"
	ctx, cancel := context.WithCancel(context.Background())
	var seen atomic.Int64
	o := opts
	o.Progress = func(done, total int64) {
		seen.Store(done)
		if done >= 20000 {
			cancel()
		}
	}
	if err := Fetch(ctx, f, filepath.Join(dir, "m.onnx"), o); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled download: %v", err)
	}
	if left := leftovers(t, dir); len(left) != 0 || seen.Load() < 20000 {
		t.Errorf("cancelled download left %v, progress %d", left, seen.Load())
	}

	// A good download lands whole; a second one downloads nothing.
	mode = "ok"
	requests.Store(0)
	dest := filepath.Join(dir, "m.onnx")
	for i := 0; i < 2; i++ {
		if err := Fetch(context.Background(), f, dest, opts); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(dest); !bytes.Equal(b, body) || requests.Load() != 1 {
		t.Errorf("downloaded %d bytes in %d requests", len(b), requests.Load())
	}
}

func zipOf(t *testing.T, build func(w *zip.Writer)) string {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	build(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "a.zip")
	os.WriteFile(p, b.Bytes(), 0o644)
	return p
}

func TestUnzipRefusesUnsafeArchives(t *testing.T) {
	add := func(w *zip.Writer, name string, body []byte) {
		f, _ := w.Create(name)
		f.Write(body)
	}
	cases := map[string]string{
		"dotdot":   zipOf(t, func(w *zip.Writer) { add(w, "cats/ok.jpg", []byte("x")); add(w, "cats/../../evil", []byte("x")) }),
		"absolute": zipOf(t, func(w *zip.Writer) { add(w, "/etc/evil", []byte("x")) }),
		"symlink": zipOf(t, func(w *zip.Writer) {
			h := &zip.FileHeader{Name: "cats/link.jpg"}
			h.SetMode(os.ModeSymlink | 0o777)
			f, _ := w.CreateHeader(h)
			f.Write([]byte("/etc/passwd"))
		}),
		"declared": zipOf(t, func(w *zip.Writer) { add(w, "big", bytes.Repeat([]byte{0}, 2<<20)) }),
		"inflates": zipOf(t, func(w *zip.Writer) {
			// A header that declares 10 bytes for 2 MB of zeros.
			var raw bytes.Buffer
			fw := zip.NewWriter(&raw)
			fw.Close()
			h := &zip.FileHeader{Name: "bomb", Method: zip.Store, UncompressedSize64: 10, CompressedSize64: 2 << 20}
			f, _ := w.CreateRaw(h)
			f.Write(bytes.Repeat([]byte{0}, 2<<20))
		}),
	}
	for name, p := range cases {
		dir := filepath.Join(t.TempDir(), "out")
		err := Unzip(p, dir, 1<<20)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, serr := os.Stat(dir); serr == nil {
			t.Errorf("%s: %s exists after the refusal", name, dir)
		}
		if left := leftovers(t, filepath.Dir(dir)); len(left) != 0 {
			t.Errorf("%s: left %v", name, left)
		}
		if name != "inflates" && !errors.Is(err, ErrUnsafeArchive) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestUnzipTutorialPhotos unpacks the tutorial's cats.zip and finds the
// photos byte-identical to the shared folder.
func TestUnzipTutorialPhotos(t *testing.T) {
	src := "../../../shared/data/cats.zip"
	if _, err := os.Stat(src); err != nil {
		t.Skip("needs ../shared/data/cats.zip (the tutorial's photos), absent in this checkout")
	}
	f := File{SHA256: "244376af547a6f36c6f6c253a808b65a153b096136be11a04f30212dbc46323c", Size: 2660852}
	if ok, err := f.Verify(src); err != nil || !ok {
		t.Fatalf("cats.zip is not the tutorial's: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "cats")
	if err := Unzip(src, dir, 100<<20); err != nil {
		t.Fatal(err)
	}
	n := 0
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".jpg") {
			return err
		}
		n++
		got, _ := os.ReadFile(p)
		want, err := os.ReadFile(filepath.Join("../../../shared/data/cats", filepath.Base(p)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the shared photo (%v)", p, err)
		}
		return nil
	})
	if n != 40 {
		t.Errorf("%d photos unpacked, want 40", n)
	}
}
