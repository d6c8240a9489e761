//go:build cgo

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/fixture/hostile"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/turbojpeg"
)

// TestOneHostileFileAmongGoodOnes: with a GIF whose frame is empty and a
// JPEG that libjpeg rejects sorted before every good image, extract
// commits every good image, train trains on all of them, and predict
// answers for every good image and names the bad ones.
func TestOneHostileFileAmongGoodOnes(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	images := folderSet(t, dir, 6)
	smallModel(t, dir, mobilenet.TF2ONNX)
	good, err := os.ReadFile(filepath.Join(images, "circles", "circles_0001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(images, "circles", "0-empty.gif"), hostile.EmptyFrameGIF(), 0o644)
	os.WriteFile(filepath.Join(images, "circles", "0-bogus.jpg"), hostile.BogusMarkerJPEG(good), 0o644)
	decoder := "go"
	if turbojpeg.Available() {
		decoder = "turbojpeg"
	}
	flags := []string{"--model", "model.onnx", "--data", "images", "--decoder", decoder, "--workers", "1"}

	r := mustRun(t, dir, append([]string{"extract"}, flags...)...)
	if !strings.Contains(r.stderr, "12 embedded, 0 from cache, 2 failed") ||
		!strings.Contains(r.stderr, "0-empty.gif: corrupt or truncated image: gif decodes to an empty 0x8 image") ||
		!strings.Contains(r.stderr, "0-bogus.jpg: corrupt or truncated image") {
		t.Fatalf("extract:\n%s", r.stderr)
	}
	r = mustRun(t, dir, append([]string{"train", "--epochs", "2", "-o", "head.json"}, flags...)...)
	if !strings.Contains(r.stderr, "0 embedded, 12 from cache, 2 failed") || !strings.Contains(r.stderr, "training on 12 images") {
		t.Fatalf("train:\n%s", r.stderr)
	}
	r = mustRun(t, dir, "predict", "--model", "model.onnx", "--decoder", decoder, "--head", "head.json", "--format", "csv", "images")
	if n := strings.Count(r.stdout, ".jpg,"); n != 13 || !strings.Contains(r.stdout, "0-empty.gif") {
		t.Fatalf("predict answered %d JPEG rows:\n%s", n, r.stdout)
	}
}

// TestMostlyFailedSet: when more than half of the images fail, every
// command says so, and train and eval refuse to go on unless
// --allow-failures.
func TestMostlyFailedSet(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	images := folderSet(t, dir, 2)
	smallModel(t, dir, mobilenet.TF2ONNX)
	for _, class := range []string{"circles", "stripes"} {
		for _, name := range []string{"x1.jpg", "x2.jpg", "x3.jpg"} {
			os.WriteFile(filepath.Join(images, class, name), []byte("not a JPEG at all"), 0o644)
		}
	}
	flags := []string{"--model", "model.onnx", "--data", "images"}
	r := mustRun(t, dir, append([]string{"extract"}, flags...)...)
	if !strings.Contains(r.stderr, "WARNING: 6 of 10 images (60%) could not be used") {
		t.Errorf("extract:\n%s", r.stderr)
	}
	r = transfer(t, dir, nil, append([]string{"train", "-o", "head.json"}, flags...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "6 of 10 images could not be used: fix or remove them, or pass --allow-failures") {
		t.Errorf("train: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "head.json")); err == nil {
		t.Error("train saved a head from 4 of 10 images")
	}
	r = mustRun(t, dir, append([]string{"train", "--allow-failures", "--epochs", "1", "-o", "head.json"}, flags...)...)
	if !strings.Contains(r.stderr, "training on 4 images") {
		t.Errorf("train --allow-failures:\n%s", r.stderr)
	}
	r = transfer(t, dir, nil, append([]string{"eval", "--head", "head.json"}, flags...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "--allow-failures") {
		t.Errorf("eval: exit %d\n%s", r.code, r.stderr)
	}
}

// TestBadCounts: counts that cannot be meant are refused by name.
func TestBadCounts(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	folderSet(t, dir, 2)
	smallModel(t, dir, mobilenet.TF2ONNX)
	for _, tc := range []struct{ flag, value, want string }{
		{"--batch", "-1", "--batch -1: must be at least 1"},
		{"--batch", "0", "--batch 0: must be at least 1"},
		{"--workers", "-2", "--workers -2: must be at least 1"},
		{"--threads", "-1", "--threads -1: must be at least 1"},
		{"--max-file-size", "0", "--max-file-size 0: must be at least 1"},
	} {
		r := transfer(t, dir, nil, "extract", "--model", "model.onnx", "--data", "images", tc.flag, tc.value)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s %s: exit %d, %q; want %q", tc.flag, tc.value, r.code, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".transfer")); err == nil {
		t.Error("a refused command created the cache")
	}
}

// TestOverflowingHead: a head whose finite weights overflow is refused by
// export, which leaves the existing file alone, and by predict, which
// never prints NaN.
func TestOverflowingHead(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	folderSet(t, dir, 3)
	smallModel(t, dir, mobilenet.TF2ONNX)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "1", "-o", "head.json", "-q")
	mustRun(t, dir, "export", "--model", "model.onnx", "--head", "head.json", "-o", "prod.onnx")
	prod, _ := os.ReadFile(filepath.Join(dir, "prod.onnx"))

	m, err := head.Load(filepath.Join(dir, "head.json"))
	if err != nil {
		t.Fatal(err)
	}
	w := m.Layer.W.RawMatrix().Data
	for i := range w {
		w[i] = 1e308
		if i%2 == 1 {
			w[i] = -1e308
		}
	}
	if err := m.Save(filepath.Join(dir, "huge.json")); err != nil {
		t.Fatal(err)
	}
	r := transfer(t, dir, nil, "export", "--model", "model.onnx", "--head", "huge.json", "-o", "prod.onnx")
	if r.code != 2 || !strings.Contains(r.stderr, "probabilities are not finite") || !strings.Contains(r.stderr, "nothing was written to prod.onnx") {
		t.Errorf("export: exit %d\n%s", r.code, r.stderr)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "prod.onnx")); string(now) != string(prod) {
		t.Error("a refused export replaced prod.onnx")
	}
	r = transfer(t, dir, nil, "predict", "--model", "model.onnx", "--head", "huge.json", "images")
	if r.code != 2 || strings.Contains(r.stdout, "NaN") || !strings.Contains(r.stderr, "retrain the head") {
		t.Errorf("predict: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}

// TestCacheCommandsOnBadPaths: commands that only read never create a
// cache, and a merge that fails leaves no output behind.
func TestCacheCommandsOnBadPaths(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	folderSet(t, dir, 2)
	smallModel(t, dir, mobilenet.TF2ONNX)
	mustRun(t, dir, "extract", "--model", "model.onnx", "--data", "images", "--cache", "good.db", "-q")
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a cache"), 0o644)
	for _, tc := range []struct {
		args  []string
		want  string
		stray string
	}{
		{[]string{"cache", "stats", "--cache", "typo.db"}, "typo.db: stat typo.db: no such file or directory; pass the path of an existing cache", "typo.db"},
		{[]string{"cache", "check", "--cache", "typo2.db"}, "no such file", "typo2.db"},
		{[]string{"cache", "merge", "out.db", "good.db", "nosuch.db"}, "merge: input cache nosuch.db", "out.db"},
		{[]string{"cache", "merge", "out2.db", "notes.txt"}, "not a transfer embedding cache", "out2.db"},
	} {
		r := transfer(t, dir, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("transfer %s: exit %d, %q; want %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
		if strings.Contains(r.stderr, "--cache") && tc.args[1] == "merge" {
			t.Errorf("transfer %s names --cache, which merge does not have: %s", strings.Join(tc.args, " "), r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, tc.stray)); err == nil {
			t.Errorf("transfer %s left %s", strings.Join(tc.args, " "), tc.stray)
		}
	}
	r := mustRun(t, dir, "cache", "merge", "out.db", "good.db")
	if !strings.Contains(r.stdout, "4 new embeddings") {
		t.Errorf("merge: %s", r.stdout)
	}
}

// TestHostileFileNames: a name that is not UTF-8 survives JSON losslessly,
// and control characters in names never reach the terminal raw.
func TestHostileFileNames(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	images := folderSet(t, dir, 3)
	smallModel(t, dir, mobilenet.TF2ONNX)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "1", "-o", "head.json", "-q")
	good, _ := os.ReadFile(filepath.Join(images, "circles", "circles_0001.jpg"))
	pred := filepath.Join(dir, "new")
	os.Mkdir(pred, 0o755)
	latin1 := "caf\xe9.jpg"
	escape := "evil\x1b[2J\x07.jpg"
	for _, n := range []string{latin1, escape, "plain.jpg"} {
		if err := os.WriteFile(filepath.Join(pred, n), good, 0o644); err != nil {
			t.Skipf("this file system refuses the name %q: %v", n, err)
		}
	}
	os.WriteFile(filepath.Join(pred, "broken\x1b]0;owned\x07.jpg"), []byte("garbage"), 0o644)

	r := mustRun(t, dir, "predict", "--model", "model.onnx", "--head", "head.json", "--format", "json", "new")
	var preds []Prediction
	if err := json.Unmarshal([]byte(r.stdout), &preds); err != nil || len(preds) != 4 {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	found := false
	for _, p := range preds {
		if filepath.Base(string(p.PathBytes)) == latin1 {
			found = true
		}
		if (p.PathBytes != nil) != strings.ContainsRune(p.Path, utf8.RuneError) {
			t.Errorf("%q: path_bytes %q", p.Path, p.PathBytes)
		}
	}
	if !found {
		t.Errorf("no path_bytes gives back %q:\n%s", latin1, r.stdout)
	}
	r = mustRun(t, dir, "predict", "--model", "model.onnx", "--head", "head.json", "new")
	if strings.ContainsAny(r.stdout+r.stderr, "\x1b\x07") {
		t.Errorf("control characters reached the terminal:\nstdout %q\nstderr %q", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, `evil\u001b[2J\u0007.jpg`) || !strings.Contains(r.stdout, `caf\xe9.jpg`) || !strings.Contains(r.stderr, `broken\u001b]0;owned\u0007.jpg`) {
		t.Errorf("names not shown escaped:\nstdout %s\nstderr %s", r.stdout, r.stderr)
	}
}

// TestManifestOutsideItsFolder: a manifest that points outside its folder
// is refused unless --allow-outside.
func TestManifestOutsideItsFolder(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	images := folderSet(t, dir, 2)
	smallModel(t, dir, mobilenet.TF2ONNX)
	sub := filepath.Join(dir, "lists")
	os.Mkdir(sub, 0o755)
	var rows []string
	for _, class := range []string{"circles", "stripes"} {
		for i := 1; i <= 2; i++ {
			rows = append(rows, filepath.Join("..", "images", class, class+"_000"+string(rune('0'+i))+".jpg")+","+class)
		}
	}
	os.WriteFile(filepath.Join(sub, "m.csv"), []byte("\ufeffpath,label\n"+strings.Join(rows, "\n")+"\n"), 0o644)
	_ = images
	r := transfer(t, dir, nil, "extract", "--model", "model.onnx", "--manifest", "lists/m.csv")
	if r.code != 2 || !strings.Contains(r.stderr, "is outside the manifest's folder") {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	r = mustRun(t, dir, "extract", "--model", "model.onnx", "--manifest", "lists/m.csv", "--allow-outside")
	if !strings.Contains(r.stderr, "4 images, 2 classes (circles 2, stripes 2)") {
		t.Errorf("--allow-outside:\n%s", r.stderr)
	}
}

// TestCorruptJPEGBeforeTheCats: the tutorial's 40 photos with a JPEG that
// libjpeg rejects sorted before them: all 40 are embedded and trained on.
func TestCorruptJPEGBeforeTheCats(t *testing.T) {
	ortest.Require(t)
	shared := ortest.SharedDir(t)
	dir := t.TempDir()
	smallModel(t, dir, mobilenet.Keras2ONNX)
	cats := filepath.Join(dir, "cats")
	os.Mkdir(cats, 0o755)
	entries, err := os.ReadDir(filepath.Join(shared, "data", "cats"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(shared, "data", "cats", e.Name()))
		os.WriteFile(filepath.Join(cats, e.Name()), b, 0o644)
	}
	f01, _ := os.ReadFile(filepath.Join(cats, "f01.jpg"))
	os.WriteFile(filepath.Join(cats, "f00-corrupt.jpg"), hostile.BogusMarkerJPEG(f01), 0o644)
	decoder := "go"
	if turbojpeg.Available() {
		decoder = "turbojpeg"
	}
	r := mustRun(t, dir, "train", "--model", "model.onnx", "--data", "cats", "--label-regex", "^(f|m)", "--classes", "f=female,m=male",
		"--decoder", decoder, "--workers", "1", "--epochs", "1")
	if !strings.Contains(r.stderr, "40 embedded, 0 from cache, 1 failed") || !strings.Contains(r.stderr, "training on 40 images") ||
		!strings.Contains(r.stderr, "f00-corrupt.jpg: corrupt or truncated image") {
		t.Fatalf("train:\n%s", r.stderr)
	}
}
