//go:build cgo && linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// smallDisk mounts a tmpfs of size bytes on a fresh folder, or skips
// where the test may not mount one (not root, no CAP_SYS_ADMIN).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v: %s); the injected-writer tests cover the same paths", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// fill leaves about free bytes on the file system of dir.
func fill(t *testing.T, dir string, free int64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	n := int64(st.Bavail)*st.Bsize - free
	if n <= 0 {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "fill"), make([]byte, n), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot is every file under dir with its bytes.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && info.Name() != "fill" {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

func names(m map[string]string) string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// TestDiskFull: on a full disk, export, train -o, cache export and cache
// merge fail with an error, leave the earlier output whole, and leave no
// half-written file beside it.
func TestDiskFull(t *testing.T) {
	dir := experimentDir(t)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "2", "-o", "h.json", "-q")
	disk := smallDisk(t, "16m")
	out := func(name string) string { return filepath.Join(disk, name) }
	// The earlier outputs, written while there was room.
	mustRun(t, dir, "export", "--head", "h.json", "-o", out("c.onnx"))
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "2", "-o", out("h.json"), "-q")
	mustRun(t, dir, "cache", "export", "--model", "model.onnx", "--data", "images", "-o", out("npy"))
	before := snapshot(t, disk)
	fill(t, disk, 2048)
	for _, args := range [][]string{
		{"export", "--head", "h.json", "-o", out("c.onnx")},
		{"train", "--model", "model.onnx", "--data", "images", "--epochs", "3", "-o", out("h.json"), "-q"},
		{"cache", "export", "--model", "model.onnx", "--data", "images", "-o", out("npy")},
		{"cache", "merge", out("merged.db"), filepath.Join(dir, ".transfer", "cache.db")},
	} {
		r := transfer(t, dir, nil, args...)
		if r.code == 0 {
			t.Errorf("%v on a full disk: exit 0", args)
		}
		t.Logf("%v: exit %d: %s", args[0:2], r.code, strings.TrimSpace(r.stderr))
		if after := snapshot(t, disk); names(after) != names(before) {
			t.Errorf("%v left %s, where there was %s\n%s", args, names(after), names(before), r.stderr)
		} else {
			for name, b := range before {
				if after[name] != b {
					t.Errorf("%v damaged %s\n%s", args, name, r.stderr)
				}
			}
		}
	}
}
