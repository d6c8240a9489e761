package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/internal/mobilenet"
	"github.com/transfer-go/transfer/internal/synthetic"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// The CLI tests run the test binary itself as the transfer command: with
// this variable set, TestMain runs main's logic instead of the tests.
const asCommandEnv = "TRANSFER_TEST_AS_COMMAND"

func TestMain(m *testing.M) {
	if os.Getenv(asCommandEnv) == "1" {
		os.Exit(run(append([]string{"transfer"}, os.Args[1:]...), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

type result struct {
	stdout, stderr string
	code           int
}

// transfer runs the command in dir with extra environment variables.
func transfer(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := command(t, dir, env, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func command(t *testing.T, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), asCommandEnv+"=1"), env...)
	return cmd
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// smallModel writes a small generated MobileNetV2 into dir as model.onnx.
func smallModel(t *testing.T, dir string, f mobilenet.Flavour) string {
	t.Helper()
	p := filepath.Join(dir, "model.onnx")
	if err := mobilenet.New(mobilenet.Small(f, 1)).WriteFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHelp(t *testing.T) {
	r := transfer(t, t.TempDir(), nil, "--help")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "help.golden", r.stdout)
	for _, cmd := range []string{"tutorial", "extract", "train", "eval", "predict", "export", "cache", "models"} {
		r := transfer(t, t.TempDir(), nil, cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "USAGE") {
			t.Errorf("%s --help: exit %d\n%s%s", cmd, r.code, r.stdout, r.stderr)
		}
	}
	r = transfer(t, t.TempDir(), nil, "train", "--help")
	golden(t, "train-help.golden", r.stdout)
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "photo.onnx"), []byte("\xff\xd8\xff not a model"), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"extract", "--no-such-flag"}, 2, "flag provided but not defined: -no-such-flag"},
		{[]string{"extract", "--data", "."}, 2, "no model: pass --model"},
		{[]string{"models", "inspect", "photo.onnx"}, 2, "photo.onnx: not an ONNX model"},
		{[]string{"models", "inspect", "absent.onnx"}, 2, "absent.onnx: no such file, and no catalogue model of that name"},
		{[]string{"models", "pull", "resnet-9000"}, 2, `no catalogue model "resnet-9000"`},
		{[]string{"train", "--model", "photo.onnx", "--data", ".", "--cv", "5", "--val-last", "5"}, 2, "choose one of --val-split, --val-data, --val-last and --cv"},
		{[]string{"extract", "--model", "m.onnx", "--data", ".", "--device", "tpu"}, 2, `unknown device "tpu"`},
		{[]string{"predict", "--format", "xml", "x.jpg"}, 2, `--format "xml"`},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
	}
	for _, tc := range cases {
		r := transfer(t, dir, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr+r.stdout, tc.want) {
			t.Errorf("transfer %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
	}
}

func TestMissingRuntimeLibrary(t *testing.T) {
	dir := t.TempDir()
	smallModel(t, dir, mobilenet.Torch)
	if _, err := synthetic.Write(filepath.Join(dir, "images"), synthetic.Options{Classes: []string{"a"}, PerClass: 1, Width: 8, Height: 8}); err != nil {
		t.Fatal(err)
	}
	for _, env := range [][]string{
		{"ONNXRUNTIME_LIB=" + filepath.Join(dir, "libonnxruntime.so")},
		{"ONNXRUNTIME_LIB=", "XDG_CACHE_HOME=" + dir, "LD_LIBRARY_PATH=" + dir},
	} {
		// A file that exists but is no library fails at load time.
		os.WriteFile(filepath.Join(dir, "libonnxruntime.so"), []byte("not a library"), 0o644)
		r := transfer(t, dir, env, "extract", "--model", "model.onnx", "--data", "images")
		if r.code != 1 || !strings.Contains(r.stderr, "ONNX Runtime library unavailable") || !strings.Contains(r.stderr, "scripts/install-onnxruntime.sh") {
			t.Errorf("env %v: exit %d, stderr %q", env, r.code, r.stderr)
		}
	}
}
