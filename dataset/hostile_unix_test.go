//go:build unix

package dataset_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/transfer-go/transfer/dataset"
)

// specialFiles are paths that are no regular files: reading them would
// block forever or never end.
func specialFiles() []struct {
	name string
	make func(path string) error
	want error
} {
	return []struct {
		name string
		make func(path string) error
		want error
	}{
		{"fifo.jpg", func(p string) error { return syscall.Mkfifo(p, 0o644) }, dataset.ErrNotRegular},
		{"zero.jpg", func(p string) error { return os.Symlink("/dev/zero", p) }, dataset.ErrNotRegular},
	}
}

// TestUnreadableSubfolder: a subfolder that cannot be read is left out and
// reported; the rest of the set is read. Root reads every folder, so as
// root the test runs its check in a copy of itself as user nobody.
func TestUnreadableSubfolder(t *testing.T) {
	if dir := os.Getenv("TRANSFER_TEST_WALK"); dir != "" {
		s, err := dataset.FromFolders(dir)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("classes=%s items=%d\n", strings.Join(s.Classes, ","), len(s.Items))
		for _, why := range s.Skipped {
			fmt.Println("skipped:", why)
		}
		return
	}
	dir, err := os.MkdirTemp("", "unreadable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "cats", "secret"), 0o755); os.RemoveAll(dir) })
	touch(t, dir, "dogs/d1.jpg", "cats/c1.jpg", "cats/secret/s.jpg", "birds/b1.jpg")
	for _, p := range []string{dir, filepath.Join(dir, "dogs"), filepath.Join(dir, "cats"), filepath.Join(dir, "birds")} {
		os.Chmod(p, 0o755)
	}
	os.Chmod(filepath.Join(dir, "cats", "secret"), 0o000)
	os.Chmod(filepath.Join(dir, "birds"), 0o000)

	var out []byte
	if os.Geteuid() != 0 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnreadableSubfolder$")
		cmd.Env = append(os.Environ(), "TRANSFER_TEST_WALK="+dir)
		if out, err = cmd.Output(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	} else {
		exe := filepath.Join(dir, "walk.test")
		b, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(exe, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe, "-test.run=^TestUnreadableSubfolder$")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TRANSFER_TEST_WALK="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err = cmd.Output()
		if err != nil {
			t.Skipf("cannot run as user nobody here: %v", err)
		}
	}
	got := string(out)
	if !strings.Contains(got, "classes=cats,dogs items=2") ||
		!strings.Contains(got, "secret: cannot be read (permission denied); its images are left out") ||
		!strings.Contains(got, `birds: cannot be read (permission denied); class "birds" is left out`) {
		t.Fatalf("as an ordinary user:\n%s", got)
	}
}
