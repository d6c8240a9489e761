//go:build cgo

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/experiment"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
)

// TestClassWarningsSaidOnce: many small classes get one warning that
// lists a few of them, not one warning each with every count (500
// one-image classes printed 3 MB).
func TestClassWarningsSaidOnce(t *testing.T) {
	var classes []string
	var counts []int
	for i := range 500 {
		classes = append(classes, fmt.Sprintf("c%03d", i))
		counts = append(counts, 1)
	}
	classes, counts = append(classes, "big1", "big2"), append(counts, 300, 300)
	for i := 0; i < 3; i++ {
		counts[i] = 20 // over 10 times fewer than 300
	}
	var stderr bytes.Buffer
	if err := checkClasses(nil, &stderr, classes, counts, experiment.Protocol{Kind: experiment.Fit}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 2 || stderr.Len() > 1000 ||
		!strings.Contains(lines[0], "497 classes have fewer than 5 images (c003 1, ") || !strings.Contains(lines[0], "and 485 more") ||
		!strings.Contains(lines[1], "3 classes have over 10 times fewer images than the largest, 300 (c000 20, c001 20, c002 20)") {
		t.Errorf("%d bytes:\n%s", stderr.Len(), stderr.String())
	}
	stderr.Reset()
	checkClasses(nil, &stderr, []string{"a", "b"}, []int{2, 40}, experiment.Protocol{Kind: experiment.Fit})
	if got := stderr.String(); got != "warning: class \"a\" has only 2 images (a 2, b 40): a misspelled folder or label?\n" {
		t.Errorf("one small class: %q", got)
	}
}

// TestExportRefusesLineBreakInClass: labels.txt holds one class a line,
// so a class name with a line break (a\nx came out as two lines, and line
// i was no longer class i) is refused before anything is written.
func TestExportRefusesLineBreakInClass(t *testing.T) {
	dir := experimentDir(t)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "2", "-o", "h.json", "-q")
	m, err := head.Load(filepath.Join(dir, "h.json"))
	if err != nil {
		t.Fatal(err)
	}
	m.Classes[0] = "a\nx"
	if err := m.Save(filepath.Join(dir, "bad.json")); err != nil {
		t.Fatal(err)
	}
	r := transfer(t, dir, nil, "export", "--head", "bad.json", "-o", "c.onnx")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "line break") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	for _, f := range []string{"c.onnx", "c.labels.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s was written", f)
		}
	}
}

// TestRefusedBeforeEmbedding: every training value that can be checked
// without pixels is refused (exit 2) before an image is embedded, on a set
// nothing has been extracted from.
func TestRefusedBeforeEmbedding(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	folderSet(t, dir, 6)
	smallModel(t, dir, 0)
	for _, bad := range [][]string{{"--epochs", "0"}, {"--val-split", "1.5"}, {"--lr", "-1"}, {"--batch-size", "0"},
		{"--cv", "1"}, {"--val-last", "0"}, {"--class-weight", "nosuchclass=2"}, {"--solver", "lbfgs", "--max-iter", "0"}} {
		r := transfer(t, dir, nil, append([]string{"train", "--model", "model.onnx", "--data", "images", "-q"}, bad...)...)
		if r.code != exitBadInput {
			t.Errorf("%v: exit %d\n%s", bad, r.code, r.stderr)
		}
		if st := transfer(t, dir, nil, "cache", "stats"); strings.Contains(st.stdout, "model.onnx") {
			t.Errorf("%v: embedded before refusing:\n%s", bad, st.stdout)
		}
	}
}

// TestStrayArgumentsAndTypos: a command that takes no file arguments
// refuses one, and a mistyped command, subcommand or flag is exit 2 with
// what was meant.
func TestStrayArgumentsAndTypos(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"extract", "--model", "m.onnx", "--data", "cats", "photos2/"}, `unexpected argument "photos2/": transfer extract takes no file arguments`},
		{[]string{"train", "--data", "cats", "stray-arg"}, `unexpected argument "stray-arg"`},
		{[]string{"eval", "stray"}, `unexpected argument "stray"`},
		{[]string{"runs", "lsit"}, `did you mean "list"?`},
		{[]string{"cache", "stat"}, `did you mean "stats"?`},
		{[]string{"models", "pul"}, `did you mean "pull"?`},
		{[]string{"trian"}, `did you mean "train"?`},
		{[]string{"train", "--modle", "m.onnx"}, "did you mean --model?"},
		{[]string{"train", "--epohcs", "3"}, "did you mean --epochs?"},
	} {
		r := transfer(t, dir, nil, tc.args...)
		if r.code != exitBadInput || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 saying %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestFolderMistakes: an empty class folder is refused unless
// --allow-empty-classes, a parent of train/ and test/ is refused with the
// folder meant, and loose images beside the class folders are named.
func TestFolderMistakes(t *testing.T) {
	dir := experimentDir(t) // images/{circles,stripes}
	os.MkdirAll(filepath.Join(dir, "images", "empty"), 0o755)
	r := transfer(t, dir, nil, "train", "--model", "model.onnx", "--data", "images", "--epochs", "1", "-q")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "class folder empty of images holds no image") || !strings.Contains(r.stderr, "--allow-empty-classes") {
		t.Errorf("empty class: exit %d\n%s", r.code, r.stderr)
	}
	r = transfer(t, dir, nil, "train", "--model", "model.onnx", "--data", "images", "--epochs", "1", "--allow-empty-classes", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"circles"`) || strings.Contains(r.stdout, `"empty"`) {
		t.Errorf("--allow-empty-classes: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	os.Remove(filepath.Join(dir, "images", "empty"))

	imgs, _ := filepath.Glob(filepath.Join(dir, "images", "circles", "*.jpg"))
	b, _ := os.ReadFile(imgs[0])
	os.WriteFile(filepath.Join(dir, "images", "loose.jpg"), b, 0o644)
	r = transfer(t, dir, nil, "train", "--model", "model.onnx", "--data", "images", "--epochs", "1")
	if r.code != 0 || !strings.Contains(r.stderr, "1 image directly in images, beside the class folders, not used") {
		t.Errorf("loose image: exit %d\n%s", r.code, r.stderr)
	}

	for _, side := range []string{"train", "test"} {
		for _, class := range []string{"circles", "stripes"} {
			os.MkdirAll(filepath.Join(dir, "sets", side, class), 0o755)
			os.WriteFile(filepath.Join(dir, "sets", side, class, "a.jpg"), b, 0o644)
		}
	}
	r = transfer(t, dir, nil, "train", "--model", "model.onnx", "--data", "sets", "--epochs", "1", "-q")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "--data "+filepath.Join("sets", "train")) {
		t.Errorf("a parent of data sets: exit %d\n%s", r.code, r.stderr)
	}
}
