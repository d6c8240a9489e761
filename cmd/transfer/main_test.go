package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
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
		{[]string{"extract", "--no-such-flag"}, 2, "unknown flag --no-such-flag; see the command's --help"},
		{[]string{"train", "--epoch", "3"}, 2, "unknown flag --epoch; did you mean --epochs?"},
		{[]string{"train", "--early-stopping", "-1"}, 2, "--early-stopping -1: the patience must not be negative"},
		{[]string{"extrat"}, 2, `unknown command "extrat"; did you mean "extract"?`},
		{[]string{"export", "--head", "h.json"}, 2, "export: --output is required: the ONNX file to write"},
		{[]string{"train", "--json", "--format", "csv"}, 2, "--json and --format csv contradict each other"},
		{[]string{"tutorial", "--format", "csv"}, 2, `--format "csv": tutorial prints text, json`},
		{[]string{"predict", "x.jpg", "--format", "xml"}, 2, `--format "xml"`}, // a flag after the arguments
		{[]string{"train", "--model", "m.onnx", "--data", ".", "-o", "/no/such/dir/h.json"}, 2, "--output /no/such/dir/h.json cannot be written: its folder /no/such/dir"},
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

// TestHelpAndVersion: "transfer help", "transfer help COMMAND" and
// --version answer without an error, and one line when the help is not
// asked for.
func TestHelpAndVersion(t *testing.T) {
	dir := t.TempDir()
	if r := transfer(t, dir, nil, "help"); r.code != 0 || !strings.Contains(r.stdout, "COMMANDS:") {
		t.Errorf("help: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := transfer(t, dir, nil, "help", "train"); r.code != 0 || !strings.Contains(r.stdout, "transfer train - train a softmax head") {
		t.Errorf("help train: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := transfer(t, dir, nil, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "transfer ") || !strings.Contains(r.stdout, "ONNX Runtime") {
		t.Errorf("--version: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"export", "--head", "h.json"}, {"train", "--epoch", "3"}} {
		if r := transfer(t, dir, nil, args...); strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("%v: not one line:\n%s%s", args, r.stdout, r.stderr)
		}
	}
}

// TestArgumentOrder: flags may follow the file arguments, and "--" ends
// the flags.
func TestArgumentOrder(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for _, tc := range []struct{ in, want string }{
		{"transfer predict new/ --model m.onnx --head h.json", "transfer predict --model m.onnx --head h.json new/"},
		{"transfer predict a.jpg --format=csv b.jpg -q", "transfer predict --format=csv -q a.jpg b.jpg"},
		{"transfer predict --top 2 a.jpg -- -odd.jpg", "transfer predict --top 2 -- a.jpg -odd.jpg"},
		{"transfer cache merge out.db a.db --debug", "transfer cache merge --debug out.db a.db"},
		{"transfer help predict", "transfer predict --help"},
		{"transfer --debug extract x --data d", "transfer --debug extract --data d x"},
	} {
		if got := strings.Join(normalizeArgs(app, strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.in, got, tc.want)
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
