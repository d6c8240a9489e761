//go:build cgo

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
	"github.com/transfer-go/transfer/internal/turbojpeg"
)

// TestDegenerateLabelSets: label sets that cannot train what the user
// meant are refused, or warned of, by name; none is trained on silently.
func TestDegenerateLabelSets(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	images := folderSet(t, dir, 10)
	smallModel(t, dir, mobilenet.TF2ONNX)
	// The tutorial's naming, for --label-regex.
	if _, err := synthetic.Write(filepath.Join(dir, "cats"), synthetic.Options{Classes: []string{"female", "male"}, PerClass: 6, Width: 40, Height: 30, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	// One class only.
	one := filepath.Join(dir, "one")
	os.MkdirAll(filepath.Join(one, "circles"), 0o755)
	for _, e := range []string{"circles_0001.jpg", "circles_0002.jpg"} {
		b, _ := os.ReadFile(filepath.Join(images, "circles", e))
		os.WriteFile(filepath.Join(one, "circles", e), b, 0o644)
	}
	// A misspelled class folder with one image, beside the real ones.
	three := filepath.Join(dir, "three")
	for _, class := range []string{"circles", "stripes"} {
		os.MkdirAll(filepath.Join(three, class), 0o755)
		entries, _ := os.ReadDir(filepath.Join(images, class))
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(images, class, e.Name()))
			os.WriteFile(filepath.Join(three, class, e.Name()), b, 0o644)
		}
	}
	os.MkdirAll(filepath.Join(three, "circels"), 0o755)
	b, _ := os.ReadFile(filepath.Join(images, "circles", "circles_0003.jpg"))
	os.WriteFile(filepath.Join(three, "circels", "x.jpg"), b, 0o644)
	// A manifest whose header is not "path,label".
	var rows []string
	for _, class := range []string{"circles", "stripes"} {
		for _, n := range []string{"0001", "0002", "0003"} {
			rows = append(rows, "images/"+class+"/"+class+"_"+n+".jpg,"+class)
		}
	}
	os.WriteFile(filepath.Join(dir, "m.csv"), []byte("filename,class\n"+strings.Join(rows, "\n")+"\n"), 0o644)

	model := []string{"--model", "model.onnx", "--epochs", "1"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a --classes key matching no file", []string{"--data", "cats", "--label-regex", "^(f|m)", "--classes", "f=female,M=male"}, 2,
			`class "male" (key "M") matches no file; the label rule "^(f|m)" gave the keys "f" (6 files), "m" (6 files) (keys are case-sensitive); --classes keys must match what --label-regex captures`},
		{"one class", []string{"--data", "one"}, 2, "only one class has images (circles 2): a classifier needs at least two classes"},
		{"a misspelled folder", []string{"--data", "three"}, 0, `warning: class "circels" has only 1 image (circels 1, circles 10, stripes 10): a misspelled folder or label?`},
		{"more folds than images", []string{"--data", "three", "--cv", "5"}, 2, `class "circels" has 1 image, fewer than 5: --cv 5 puts an image of each class in every fold`},
		{"--cv 20 on 10 per class", []string{"--data", "images", "--cv", "20"}, 2, `class "circles" has 10 images, fewer than 20`},
		{"a split of one image", []string{"--data", "three", "--val-split", "0.2"}, 2, `class "circels" has 1 image, fewer than 2: --val-split needs an image of each class on both sides`},
		{"a header row", []string{"--manifest", "m.csv"}, 0, "6 images, 2 classes (circles 3, stripes 3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := transfer(t, dir, nil, append(append([]string{"train"}, model...), tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant %q", r.code, tc.code, r.stderr, tc.want)
			}
		})
	}
}

// TestHeadKnowsItsBackbone: predict, eval and export take the model and
// every pixel setting from the head; a model that moved is named, and an
// explicit flag that contradicts the head is refused.
func TestHeadKnowsItsBackbone(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	folderSet(t, dir, 4)
	smallModel(t, dir, mobilenet.TF2ONNX)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--resize", "crop", "--filter", "nearest", "--decoder", "go", "--epochs", "1", "-o", "head.json", "-q")
	want := mustRun(t, dir, "predict", "--model", "model.onnx", "--resize", "crop", "--filter", "nearest", "--decoder", "go", "--head", "head.json", "--format", "csv", "images").stdout

	for _, args := range [][]string{
		{"predict", "images", "--head", "head.json", "--format", "csv"}, // flags after the arguments
		{"eval", "--head", "head.json", "--data", "images"},
		{"export", "--head", "head.json", "-o", "c.onnx"},
	} {
		r := mustRun(t, dir, args...)
		if args[0] == "predict" && r.stdout != want {
			t.Errorf("predict with the head alone:\n%s\nwant\n%s", r.stdout, want)
		}
	}
	r := transfer(t, dir, nil, "predict", "--head", "head.json", "--filter", "bilinear", "images")
	if r.code != 2 || !strings.Contains(r.stderr, "the head was trained on images resized as crop/nearest") {
		t.Errorf("a contradicting --filter: exit %d\n%s", r.code, r.stderr)
	}
	// The model moves: the head names it; --model with the new path works.
	os.Mkdir(filepath.Join(dir, "moved"), 0o755)
	os.Rename(filepath.Join(dir, "model.onnx"), filepath.Join(dir, "moved", "model.onnx"))
	r = transfer(t, dir, nil, "predict", "--head", "head.json", "images")
	if r.code != 2 || !strings.Contains(r.stderr, "which is no longer there: pass --model with its new path") {
		t.Errorf("moved model: exit %d\n%s", r.code, r.stderr)
	}
	if got := mustRun(t, dir, "predict", "--head", "head.json", "--model", "moved/model.onnx", "--format", "csv", "images").stdout; got != want {
		t.Errorf("--model at the new path:\n%s", got)
	}
	// Another model under the old name is caught by its bytes.
	mobilenet.New(mobilenet.Small(mobilenet.TF2ONNX, 9)).WriteFile(filepath.Join(dir, "model.onnx"))
	r = transfer(t, dir, nil, "predict", "--head", "head.json", "images")
	if r.code != 2 || !strings.Contains(r.stderr, "head and backbone do not match") {
		t.Errorf("another model at the recorded path: exit %d\n%s", r.code, r.stderr)
	}
}

// TestHeadFromTurboJPEGWithoutIt: a head trained on libjpeg-turbo's pixels,
// used where the library cannot be loaded, says exactly that.
func TestHeadFromTurboJPEGWithoutIt(t *testing.T) {
	ortest.Require(t)
	if !turbojpeg.Available() {
		t.Skip("libturbojpeg is not installed: no head can be trained on its pixels here")
	}
	dir := t.TempDir()
	folderSet(t, dir, 3)
	smallModel(t, dir, mobilenet.TF2ONNX)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--decoder", "turbojpeg", "--epochs", "1", "-o", "head.json", "-q")
	env := []string{turbojpeg.LibraryEnv + "=/nonexistent/libturbojpeg.so.0"}
	r := transfer(t, dir, env, "predict", "--head", "head.json", "images")
	if r.code != 2 || !strings.Contains(r.stderr, "trained on JPEG pixels decoded by libjpeg-turbo, which cannot be loaded here") ||
		!strings.Contains(r.stderr, "apt-get install libturbojpeg0") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	r = transfer(t, dir, env, "predict", "--head", "head.json", "--decoder", "go", "images")
	if r.code != 0 || !strings.Contains(r.stderr, "gives slightly different JPEG pixels") {
		t.Errorf("--decoder go: exit %d\n%s", r.code, r.stderr)
	}
}

// TestSmallerRoughEdges pins the smaller fixes: the head not saved is
// said, the cross-validation's summary comes last, a learning rate out of
// range is warned of, plots are written in the format their name asks for
// or refused before any work, explicit class weights, per-fold curves.
func TestSmallerRoughEdges(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	folderSet(t, dir, 6)
	smallModel(t, dir, mobilenet.TF2ONNX)
	base := []string{"train", "--model", "model.onnx", "--data", "images", "--epochs", "2"}
	run := func(args ...string) result { return mustRun(t, dir, append(append([]string{}, base...), args...)...) }

	if r := run(); !strings.Contains(r.stderr, "the head was not saved: add -o head.json to keep it") {
		t.Errorf("no -o:\n%s", r.stderr)
	}
	r := run("--cv", "3", "-o", "cv.json")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if !strings.Contains(r.stdout, "saved head to cv.json") || !strings.Contains(lines[len(lines)-2], "validation accuracy") || strings.Index(r.stdout, "saved head") > strings.Index(r.stdout, "3-fold stratified cross-validation") {
		t.Errorf("--cv -o: the summary is not last:\n%s", r.stdout)
	}
	if r := run("--lr", "5"); !strings.Contains(r.stderr, "warning: --lr 5 is outside (0, 1]") {
		t.Errorf("--lr 5:\n%s", r.stderr)
	}
	run("--plot", "curves.svg", "--val-split", "0.3", "--early-stopping", "5")
	if b, _ := os.ReadFile(filepath.Join(dir, "curves.svg")); !strings.Contains(string(b[:min(len(b), 200)]), "<svg") || !strings.Contains(string(b), "restored: epoch") {
		t.Errorf("curves.svg is no SVG with the restored epoch marked: %.80q", b)
	}
	if r := transfer(t, dir, nil, append(base, "--plot", "curves.gif")...); r.code != 2 || !strings.Contains(r.stderr, "give the file the extension .png, .svg or .pdf") || strings.Contains(r.stderr, "embedded") {
		t.Errorf("--plot curves.gif: exit %d\n%s", r.code, r.stderr)
	}
	if r := run("--class-weight", "stripes=3", "--format", "json"); !strings.Contains(r.stdout, `"train_accuracy"`) {
		t.Errorf("--class-weight stripes=3:\n%s%s", r.stdout, r.stderr)
	}
	if r := transfer(t, dir, nil, append(base, "--class-weight", "squares=3")...); r.code != 2 || !strings.Contains(r.stderr, `there is no class "squares" (the classes are circles, stripes)`) {
		t.Errorf("--class-weight squares=3: exit %d\n%s", r.code, r.stderr)
	}
	run("--cv", "3", "--plot", "cv.png")
	for _, f := range []string{"cv.png", "cv-confusion.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() < 1000 {
			t.Errorf("--cv --plot: %s: %v", f, err)
		}
	}
}
