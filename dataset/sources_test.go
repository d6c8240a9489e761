package dataset_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/dataset"
)

// touch creates empty files (sources only list names).
func touch(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rels(s *dataset.Set) []string {
	var out []string
	for _, it := range s.Items {
		out = append(out, it.Rel)
	}
	return out
}

func TestFromFolders(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "dogs/b.jpg", "dogs/a.PNG", "cats/x/deep.jpeg", "cats/c.webp", "cats/notes.txt", ".hidden/z.jpg", "empty/readme.md")
	s, err := dataset.FromFolders(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Classes, ",") != "cats,dogs" {
		t.Errorf("classes %v", s.Classes)
	}
	if got := strings.Join(rels(s), ","); got != "cats/c.webp,cats/x/deep.jpeg,dogs/a.PNG,dogs/b.jpg" {
		t.Errorf("items %s", got)
	}
	if s.Summary() != "4 images, 2 classes (cats 2, dogs 2); 1 class folder without images left out (empty)" || strings.Join(s.EmptyClasses, ",") != "empty" || len(s.Skipped) != 0 {
		t.Errorf("summary %q, empty %v, skipped %v", s.Summary(), s.EmptyClasses, s.Skipped)
	}
	// Images beside the class folders are counted, not used.
	loose := t.TempDir()
	touch(t, loose, "a/1.jpg", "b/2.jpg", "stray.jpg", "other.png")
	if s, err := dataset.FromFolders(loose); err != nil || s.Loose != 2 || len(s.Items) != 2 || !strings.HasSuffix(s.Summary(), "; 2 images beside the class folders not used") {
		t.Errorf("loose images: %v, %+v", err, s)
	}
	// A folder of data sets (train/ and test/ with the same classes) is
	// no folder of classes.
	parent := t.TempDir()
	touch(t, parent, "train/cat/1.jpg", "train/dog/2.jpg", "test/cat/3.jpg", "test/dog/4.jpg")
	if _, err := dataset.FromFolders(parent); !errors.Is(err, dataset.ErrParentFolder) || !strings.Contains(err.Error(), "(test, train) holds the same class folders (cat, dog)") {
		t.Errorf("parent of sets: %v", err)
	}
	// Classes with subfolders of their own names (years, sources) are
	// classes.
	nested := t.TempDir()
	touch(t, nested, "cat/2019/1.jpg", "cat/2020/2.jpg", "dog/a/3.jpg", "dog/b/4.jpg")
	if s, err := dataset.FromFolders(nested); err != nil || len(s.Classes) != 2 {
		t.Errorf("nested classes: %v", err)
	}
	flat := t.TempDir()
	touch(t, flat, "f01.jpg", "m01.jpg")
	if _, err := dataset.FromFolders(flat); !errors.Is(err, dataset.ErrNoClassFolders) || !strings.Contains(err.Error(), "has 2 images but no class subfolders") {
		t.Errorf("flat folder: %v", err)
	}
}

func TestFromRegex(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "m02.jpg", "f01.jpg", "m01.jpg", "f02.jpg", "x01.jpg", "readme.txt")
	s, err := dataset.FromRegex(dir, "^(f|m)", "f=female,m=male")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Classes, ",") != "female,male" || strings.Join(rels(s), ",") != "f01.jpg,f02.jpg,m01.jpg,m02.jpg" {
		t.Errorf("classes %v items %v", s.Classes, rels(s))
	}
	if y := s.Labels(); y[0] != 0 || y[3] != 1 {
		t.Errorf("labels %v", y)
	}
	if len(s.Skipped) != 1 || !strings.Contains(s.Skipped[0], "x01.jpg") {
		t.Errorf("skipped %v", s.Skipped)
	}
	// The mapping's order is the label order, even against the alphabet.
	s, err = dataset.FromRegex(dir, "^(f|m)", "m=male,f=female")
	if err != nil || s.Classes[0] != "male" || s.Items[0].Label != 1 {
		t.Errorf("reversed mapping: classes %v first label %d err %v", s.Classes, s.Items[0].Label, err)
	}
	// Without a mapping classes are the sorted keys.
	s, err = dataset.FromRegex(dir, "^[a-z]", "")
	if err != nil || strings.Join(s.Classes, ",") != "f,m,x" {
		t.Errorf("no mapping: classes %v err %v", s.Classes, err)
	}
	for _, bad := range []struct{ re, mapping, want string }{
		{"^(f|m", "", "missing closing )"},
		{"^(f|m)", "f:female", "want key=name pairs"},
		{"^(f|m)", "f=a,f=b", `key "f" appears twice`},
		{"^q", "", "no file name"},
	} {
		if _, err := dataset.FromRegex(dir, bad.re, bad.mapping); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("regex %q mapping %q: error %v, want %q", bad.re, bad.mapping, err, bad.want)
		}
	}
}

func TestFromManifest(t *testing.T) {
	dir := t.TempDir()
	manifest := "path,label\nimgs/b.jpg,dog\n# a comment\nimgs/a.jpg, cat\n\n/abs/c.jpg,dog\n"
	s, err := dataset.ReadManifest(strings.NewReader(manifest), dir, "m.csv", dataset.ManifestOptions{AllowOutside: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Classes, ",") != "cat,dog" {
		t.Errorf("classes %v", s.Classes)
	}
	want := []string{"/abs/c.jpg", filepath.Join(dir, "imgs/a.jpg"), filepath.Join(dir, "imgs/b.jpg")}
	for i, it := range s.Items {
		if it.Path != want[i] {
			t.Errorf("item %d: %s, want %s", i, it.Path, want[i])
		}
	}
	for _, bad := range []struct{ csv, want string }{
		{"a.jpg\n", "line 1: 1 fields, want 2"},
		{"a.jpg,cat\nb.jpg,\n", "line 2: b.jpg has no label"},
		{"path,label\n", "lists no images"},
		{"a.jpg,\"cat\n", "extraneous or missing"},
		// Hostile manifests: the same image twice, paths that leave the
		// manifest's folder.
		{"a.jpg,cat\nb.jpg,dog\na.jpg,dog\n", `line 3: a.jpg is listed again, with label "dog" (line 1 says "cat")`},
		{"a.jpg,cat\n./a.jpg,cat\n", "line 2: ./a.jpg is listed twice (first on line 1)"},
		{"a.jpg,cat\n/etc/passwd,dog\n", "line 2: /etc/passwd is outside the manifest's folder"},
		{"a.jpg,cat\n../../secret.jpg,dog\n", "line 2: ../../secret.jpg is outside the manifest's folder"},
		{"a.jpg,cat\nimgs/../../x.jpg,dog\n", "line 2: imgs/../../x.jpg is outside"},
	} {
		_, err := dataset.ReadManifest(strings.NewReader(bad.csv), dir, "m.csv", dataset.ManifestOptions{})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.csv, err, bad.want)
		}
	}
}

// TestManifestBOM: a byte-order mark (as Excel writes) does not turn the
// header into a data row.
func TestManifestBOM(t *testing.T) {
	s, err := dataset.ReadManifest(strings.NewReader("\uFEFFpath,label\na.jpg,cat\nb.jpg,dog\n"), t.TempDir(), "m.csv", dataset.ManifestOptions{})
	if err != nil || strings.Join(s.Classes, ",") != "cat,dog" || len(s.Items) != 2 {
		t.Fatalf("%v, %v", s, err)
	}
	// Paths that stay inside through .. are fine.
	if _, err := dataset.ReadManifest(strings.NewReader("imgs/../a.jpg,cat\n"), t.TempDir(), "m.csv", dataset.ManifestOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestClassFolderLinks: a class folder that is a symbolic link is
// followed; a dangling one and a link to a folder deeper down are
// reported, not silently dropped.
func TestClassFolderLinks(t *testing.T) {
	dir := t.TempDir()
	elsewhere := t.TempDir()
	touch(t, elsewhere, "c1.jpg", "c2.jpg", "nested/n.jpg")
	touch(t, dir, "dogs/d1.jpg")
	if err := os.Symlink(elsewhere, filepath.Join(dir, "cats")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "birds"))
	os.Symlink(filepath.Join(elsewhere, "nested"), filepath.Join(dir, "dogs", "more"))
	s, err := dataset.FromFolders(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Classes, ",") != "cats,dogs" || strings.Join(rels(s), ",") != "cats/c1.jpg,cats/c2.jpg,cats/nested/n.jpg,dogs/d1.jpg" {
		t.Errorf("classes %v, items %v", s.Classes, rels(s))
	}
	skipped := strings.Join(s.Skipped, "\n")
	if len(s.Skipped) != 2 || !strings.Contains(skipped, "birds: a symbolic link that leads nowhere") ||
		!strings.Contains(skipped, "more: a symbolic link to a folder inside a class folder is not followed") {
		t.Errorf("skipped:\n%s", skipped)
	}
}

// TestDuplicateClassNames: two keys naming one class are refused.
func TestDuplicateClassNames(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "f01.jpg", "m01.jpg")
	if _, err := dataset.FromRegex(dir, "^(f|m)", "f=cat,m=cat"); err == nil || !strings.Contains(err.Error(), `class name "cat" is given twice`) {
		t.Errorf("%v", err)
	}
}

func TestFromPaths(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "a/2.jpg", "a/1.png", "b.txt")
	s, err := dataset.FromPaths(filepath.Join(dir, "b.txt"), filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != 3 || s.Labelled() || s.Items[0].Label != dataset.Unlabelled || !strings.HasSuffix(s.Items[1].Path, "1.png") {
		t.Errorf("items %+v", s.Items)
	}
	if _, err := dataset.FromPaths(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: %v", err)
	}
}

func TestShard(t *testing.T) {
	s := &dataset.Set{}
	for i := 0; i < 1000; i++ {
		s.Items = append(s.Items, dataset.Item{Rel: filepath.Join("class", strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('0'+i%10))+".jpg") + string(rune('A'+i/26%26))})
	}
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		sh := s.Shard(dataset.Shard{Index: i, Count: 4})
		if n := len(sh.Items); n < 150 || n > 350 {
			t.Errorf("shard %d has %d of 1000 items", i, n)
		}
		for _, it := range sh.Items {
			seen[it.Rel]++
		}
	}
	for rel, n := range seen {
		if n != 1 {
			t.Fatalf("%s is in %d shards", rel, n)
		}
	}
	for _, bad := range []string{"4/4", "-1/4", "1", "a/b", "0/0"} {
		if _, err := dataset.ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	if sh, err := dataset.ParseShard("3/8"); err != nil || sh != (dataset.Shard{Index: 3, Count: 8}) {
		t.Errorf("ParseShard(3/8) = %v, %v", sh, err)
	}
}

// TestManifestHeader: a header row is recognised without being declared
// when its path is no image file and names no file; --header decides
// otherwise.
func TestManifestHeader(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "a.jpg", "b.jpg", "image")
	for _, tc := range []struct {
		csv     string
		header  dataset.Header
		classes string
	}{
		{"filename,class\na.jpg,cat\nb.jpg,dog\n", dataset.HeaderAuto, "cat,dog"},
		{"Path,Label\na.jpg,cat\nb.jpg,dog\n", dataset.HeaderAuto, "cat,dog"},
		{"a.jpg,cat\nb.jpg,dog\n", dataset.HeaderAuto, "cat,dog"},
		{"image,kind\na.jpg,cat\nb.jpg,dog\n", dataset.HeaderAuto, "cat,dog,kind"}, // "image" is a file here
		{"image,kind\na.jpg,cat\nb.jpg,dog\n", dataset.HeaderPresent, "cat,dog"},
		{"filename,class\na.jpg,cat\n", dataset.HeaderAbsent, "cat,class"},
	} {
		s, err := dataset.ReadManifest(strings.NewReader(tc.csv), dir, "m.csv", dataset.ManifestOptions{Header: tc.header})
		if err != nil || strings.Join(s.Classes, ",") != tc.classes {
			t.Errorf("%q (header %d): %v, %v; want classes %s", tc.csv, tc.header, s, err, tc.classes)
		}
	}
}

// TestClassKeyMatchingNothing: a --classes key that no file name gives is
// an error that lists the keys the rule did give.
func TestClassKeyMatchingNothing(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "f01.jpg", "f02.jpg", "m01.jpg")
	_, err := dataset.FromRegex(dir, "^(f|m)", "f=female,M=male")
	if !errors.Is(err, dataset.ErrEmptyClass) || !strings.Contains(err.Error(), `class "male" (key "M") matches no file; the label rule "^(f|m)" gave the keys "f" (2 files), "m" (1 file)`) {
		t.Fatalf("%v", err)
	}
}

// TestAlignClasses: labels follow the wanted order; an unknown class is
// refused and nothing changes.
func TestAlignClasses(t *testing.T) {
	s := &dataset.Set{Classes: []string{"dog", "cat"}, Items: []dataset.Item{{Label: 0}, {Label: 1}, {Label: dataset.Unlabelled}}}
	if err := s.AlignClasses([]string{"cat", "dog", "bird"}); err != nil || s.Items[0].Label != 1 || s.Items[1].Label != 0 || s.Items[2].Label != dataset.Unlabelled || len(s.Classes) != 3 {
		t.Fatalf("%v, %+v", err, s)
	}
	s = &dataset.Set{Classes: []string{"cat", "fox"}, Items: []dataset.Item{{Label: 1}}}
	if err := s.AlignClasses([]string{"cat", "dog"}); err == nil || !strings.Contains(err.Error(), `class "fox" is not among the classes cat, dog`) || s.Items[0].Label != 1 {
		t.Fatalf("%v, %+v", err, s)
	}
}

// TestManifestKeepsTab: a path that begins with a tab (on OWASP's list,
// and a legal file name) is read as it is; it was trimmed into "no such
// file".
func TestManifestKeepsTab(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "\ttab f.jpg"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := filepath.Join(dir, "m.csv")
	if err := os.WriteFile(m, []byte("\"\ttab f.jpg\", cat\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := dataset.FromManifest(m, dataset.ManifestOptions{})
	if err != nil || len(set.Items) != 1 || filepath.Base(set.Items[0].Path) != "\ttab f.jpg" || set.Classes[0] != "cat" {
		t.Fatalf("manifest: %+v, %v", set, err)
	}
}
