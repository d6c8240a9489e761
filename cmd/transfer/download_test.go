//go:build cgo

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
)

// mirrorEnv serves files from a local mirror and gives the command a user
// cache of its own (with the ONNX Runtime it found in the real one).
func mirrorEnv(t *testing.T, files map[string][]byte) (env []string, cache string) {
	t.Helper()
	ortest.Require(t)
	lib, src, err := backbone.FindLibrary("")
	if err != nil || src == backbone.FromSystem {
		t.Skip("needs ONNX Runtime at a known path")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[strings.TrimPrefix(r.URL.Path, "/mirror/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	cache = t.TempDir()
	return []string{"XDG_CACHE_HOME=" + cache, "HOME=" + cache, backbone.LibraryEnv + "=" + lib, "TRANSFER_MIRROR=" + srv.URL + "/mirror"}, cache
}

// TestTutorialFetchesFromMirror: with a mirror serving the tutorial's
// cats.zip and a model under the catalogue's name, the tutorial's first run
// downloads, verifies and unpacks them, and runs on them; the report names
// both with their sha256.
func TestTutorialFetchesFromMirror(t *testing.T) {
	shared := ortest.SharedDir(t)
	zip, err := os.ReadFile(filepath.Join(shared, "data", "cats.zip"))
	if err != nil {
		t.Skip("needs ../shared/data/cats.zip")
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "gen.onnx")
	if err := mobilenet.New(mobilenet.Small(mobilenet.TF2ONNX, 1)).WriteFile(model); err != nil {
		t.Fatal(err)
	}
	mb, _ := os.ReadFile(model)
	sum := sha256.Sum256(mb)
	env, cache := mirrorEnv(t, map[string][]byte{"cats.zip": zip, "mobilenetv2-12.onnx": mb})
	env = append(env, fmt.Sprintf("TRANSFER_TEST_CATALOGUE=mobilenetv2-12=%s:%d", hex.EncodeToString(sum[:]), len(mb)))
	r := transfer(t, dir, env, "tutorial", "--epochs", "2", "--folds", "2", "--report", "report")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"model: mobilenetv2-12 (downloaded and verified)", "data: the tutorial's 40 cat photos in " + filepath.Join(cache, "transfer", "tutorial", "photos", "cats")} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	rep, err := os.ReadFile(filepath.Join(dir, "report", "report.md"))
	if err != nil || !strings.Contains(string(rep), "244376af547a6f36c6f6c253a808b65a153b096136be11a04f30212dbc46323c") || !strings.Contains(string(rep), hex.EncodeToString(sum[:])) {
		t.Errorf("report lacks the sources' sha256 (%v):\n%s", err, rep)
	}
	// A second run downloads nothing.
	r = transfer(t, dir, env, "tutorial", "--epochs", "2", "--folds", "2")
	if r.code != 0 || !strings.Contains(r.stderr, "model: mobilenetv2-12 (pulled)") || strings.Contains(r.stderr, "download") {
		t.Errorf("second run: exit %d\n%s", r.code, r.stderr)
	}
}

// TestTutorialRefusesBadDownloads: a mirror whose files do not match their
// checksums is refused, nothing is left behind, and the tutorial says why
// and runs on what it has.
func TestTutorialRefusesBadDownloads(t *testing.T) {
	env, cache := mirrorEnv(t, map[string][]byte{"cats.zip": []byte("not the photos"), "mobilenetv2-12.onnx": []byte("not a model")})
	dir := t.TempDir()
	r := transfer(t, dir, env, "tutorial", "--epochs", "2", "--folds", "2", "--models-dir", filepath.Join(dir, "models"))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"checksum mismatch", "could not be had"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	var left []string
	filepath.Walk(filepath.Join(cache, "transfer"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	filepath.Walk(filepath.Join(dir, "models"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("refused downloads left %v", left)
	}
}

func TestModelsPullFromMirror(t *testing.T) {
	body := []byte("a file standing for a model")
	sum := sha256.Sum256(body)
	env, _ := mirrorEnv(t, map[string][]byte{"mobilenetv2-12.onnx": body})
	dir := t.TempDir()
	r := transfer(t, dir, nil, "models", "list", "--urls")
	if r.code != 0 || !strings.Contains(r.stdout, "mobilenetv2-12.onnx  c0c3f76d93fa3fd6580652a45618618a220fced18babf65774ed169de0432ad5  13964571") || !strings.Contains(r.stdout, "cats.zip") {
		t.Errorf("models list --urls:\n%s", r.stdout)
	}
	r = transfer(t, dir, append(env, fmt.Sprintf("TRANSFER_TEST_CATALOGUE=mobilenetv2-12=%s:%d", hex.EncodeToString(sum[:]), len(body))), "models", "pull", "mobilenetv2-12", "--models-dir", "m")
	if r.code != 0 {
		t.Fatalf("pull from the mirror: exit %d\n%s", r.code, r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "m", "mobilenetv2-12.onnx")); err != nil || string(b) != string(body) {
		t.Errorf("pulled %q, %v", b, err)
	}
	// Without the override the mirror's file is not the catalogue's.
	r = transfer(t, dir, env, "models", "pull", "mobilenetv2-12", "--models-dir", "m2")
	if r.code == 0 || !strings.Contains(r.stderr, "checksum mismatch") {
		t.Errorf("a wrong file was accepted: exit %d\n%s", r.code, r.stderr)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "m2")); len(ents) != 0 {
		t.Errorf("refused pull left %d files", len(ents))
	}
}

// TestTutorialInterruptedDownload: SIGTERM while the tutorial waits on a
// mirror that sent its headers and then nothing stops the tutorial (exit
// 130); it does not call the photos "could not be had" and carry on with
// generated data.
func TestTutorialInterruptedDownload(t *testing.T) {
	ortest.Require(t)
	asked := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2660852") // cats.zip's size
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		asked <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	lib, _, err := backbone.FindLibrary("")
	if err != nil {
		t.Skip("needs ONNX Runtime at a known path")
	}
	cache := t.TempDir()
	dir := t.TempDir()
	cmd := command(t, dir, []string{"XDG_CACHE_HOME=" + cache, "HOME=" + cache, backbone.LibraryEnv + "=" + lib, "TRANSFER_MIRROR=" + srv.URL}, "tutorial", "--epochs", "2", "--folds", "2", "--models-dir", filepath.Join(dir, "models"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-asked:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the tutorial never asked the mirror")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the tutorial went on after SIGTERM:\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || strings.Contains(stderr.String(), "could not be had") || strings.Contains(stderr.String(), "generated") {
		t.Errorf("exit %d:\n%s", code, stderr.String())
	}
}
