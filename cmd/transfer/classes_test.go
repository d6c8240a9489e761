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
