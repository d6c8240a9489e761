package dataset

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// imageExts are the file extensions sets pick up (compared lowercased).
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".bmp": true,
	".tif": true, ".tiff": true, ".webp": true,
}

// IsImageName reports whether the file name has an image extension.
func IsImageName(name string) bool { return imageExts[strings.ToLower(filepath.Ext(name))] }

// ErrNoImages reports a source in which no image file was found.
var ErrNoImages = errors.New("no images found")

// ErrNoClassFolders reports a folder of images without class subfolders,
// read as if it had them.
var ErrNoClassFolders = errors.New("no class subfolders")

// ErrEmptyClass reports a declared class without images.
var ErrEmptyClass = errors.New("a class has no images")

// keyCounts lists label keys with their file counts: "f" (20 files), "m" (20 files).
func keyCounts(found map[string]int) string {
	if len(found) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q (%s)", k, plural(found[k], "file"))
	}
	return strings.Join(parts, ", ")
}

// ErrOutsideManifest reports a manifest row whose path leaves the
// manifest's folder.
var ErrOutsideManifest = errors.New("manifest path outside its folder")

// walkImages returns the image files below dir, sorted, skipping hidden
// files and folders. A subfolder that cannot be read, or a symbolic link to
// a folder (not followed below the top, where links could loop), is left
// out and reported in skipped; only an unreadable dir itself is an error.
func walkImages(dir string) (files, skipped []string, err error) {
	var out []string
	root := dir
	if st, err := os.Lstat(dir); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		root = dir + string(filepath.Separator) // WalkDir then walks the link's target
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			skipped = append(skipped, fmt.Sprintf("%s: cannot be read (%v); its images are left out", p, unwrapPath(err)))
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if p != root && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if p != root && d.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				skipped = append(skipped, p+": a symbolic link to a folder inside a class folder is not followed")
				return nil
			}
		}
		if !d.IsDir() && IsImageName(name) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, skipped, err
}

// unwrapPath drops the path that fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func rel(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

// FromFolders reads a set with one subfolder per class: dir/<class>/...
// (Keras' image_dataset_from_directory convention). Class names are the
// sorted subfolder names; images may sit at any depth below them. A class
// folder may be a symbolic link to a folder; unreadable subfolders and
// dangling links are listed in Set.Skipped.
func FromFolders(dir string) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	s := &Set{Root: dir, Classes: []string{}}
	loose := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			st, err := os.Stat(filepath.Join(dir, e.Name()))
			if err != nil {
				s.Skipped = append(s.Skipped, fmt.Sprintf("%s: a symbolic link that leads nowhere (%v)", filepath.Join(dir, e.Name()), unwrapPath(err)))
				continue
			}
			isDir = st.IsDir()
		}
		if !isDir {
			if IsImageName(e.Name()) {
				loose++
			}
			continue
		}
		files, skipped, err := walkImages(filepath.Join(dir, e.Name()))
		s.Skipped = append(s.Skipped, skipped...)
		if err != nil {
			s.Skipped = append(s.Skipped, fmt.Sprintf("%s: cannot be read (%v); class %q is left out", filepath.Join(dir, e.Name()), unwrapPath(err), e.Name()))
			continue
		}
		if len(files) == 0 {
			s.EmptyClasses = append(s.EmptyClasses, e.Name())
			continue
		}
		label := len(s.Classes)
		s.Classes = append(s.Classes, e.Name())
		for _, f := range files {
			s.Items = append(s.Items, Item{Path: f, Rel: rel(dir, f), Label: label})
		}
	}
	if len(s.Classes) == 0 {
		if loose > 0 {
			return nil, fmt.Errorf("%w: %s has %d images but no class subfolders", ErrNoClassFolders, dir, loose)
		}
		return nil, fmt.Errorf("%w in the subfolders of %s", ErrNoImages, dir)
	}
	s.Loose = loose
	if err := parentOfSets(dir, s.Classes); err != nil {
		return nil, err
	}
	return s, nil
}

// ErrParentFolder reports a folder whose "classes" are data sets: train/
// and test/, each holding the same class folders. Read as classes, it
// trains a "test vs train" classifier on the test images.
var ErrParentFolder = errors.New("a folder of data sets, not of classes")

// parentOfSets reports ErrParentFolder when every class folder of dir
// holds no image of its own but two or more subfolders, the same names in
// each.
func parentOfSets(dir string, classes []string) error {
	if len(classes) < 2 {
		return nil
	}
	var inner []string
	for i, c := range classes {
		entries, err := os.ReadDir(filepath.Join(dir, c))
		if err != nil {
			return nil
		}
		var subs []string
		for _, e := range entries {
			switch {
			case strings.HasPrefix(e.Name(), "."):
			case e.IsDir():
				subs = append(subs, e.Name())
			case IsImageName(e.Name()):
				return nil // a class folder with images of its own
			}
		}
		if len(subs) < 2 || (i > 0 && strings.Join(subs, "/") != strings.Join(inner, "/")) {
			return nil
		}
		inner = subs
	}
	return fmt.Errorf("%w: every folder in %s (%s) holds the same class folders (%s); pass one of them, e.g. --data %s",
		ErrParentFolder, dir, strings.Join(classes, ", "), strings.Join(inner, ", "), filepath.Join(dir, classes[len(classes)-1]))
}

// FromRegex reads the images directly in dir (and below) and takes each
// one's class from its file name: the first capture group of pattern, or the
// whole match when it has none. mapping, if not empty, is "key=name,..." and
// both renames the keys and fixes the class order ("f=female,m=male" makes
// female class 0); without it classes are the sorted keys. Files whose name
// does not match, or whose key the mapping lacks, are skipped and listed in
// Set.Skipped.
func FromRegex(dir, pattern, mapping string) (*Set, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("label rule %q: %w", pattern, err)
	}
	var keys, names []string
	if mapping != "" {
		for _, kv := range strings.Split(mapping, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || k == "" || v == "" {
				return nil, fmt.Errorf("class mapping %q: want key=name pairs separated by commas, e.g. f=female,m=male", mapping)
			}
			for i, old := range keys {
				if old == k {
					return nil, fmt.Errorf("class mapping %q: key %q appears twice", mapping, k)
				}
				if names[i] == v {
					return nil, fmt.Errorf("class mapping %q: class name %q is given twice (keys %q and %q); give each class one key", mapping, v, old, k)
				}
			}
			keys, names = append(keys, k), append(names, v)
		}
	}
	files, skipped, err := walkImages(dir)
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoImages, dir)
	}
	type found struct {
		path, key string
	}
	var matched []found
	s := &Set{Root: dir, Skipped: skipped}
	seen := map[string]bool{}
	for _, f := range files {
		m := re.FindStringSubmatch(filepath.Base(f))
		if m == nil {
			s.Skipped = append(s.Skipped, f+": name does not match the label rule")
			continue
		}
		key := m[0]
		if len(m) > 1 {
			key = m[1]
		}
		matched = append(matched, found{f, key})
		seen[key] = true
	}
	if mapping == "" {
		for k := range seen {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		names = keys
	}
	index := map[string]int{}
	for i, k := range keys {
		index[k] = i
	}
	if mapping != "" {
		found := map[string]int{}
		for _, m := range matched {
			found[m.key]++
		}
		for i, k := range keys {
			if found[k] == 0 {
				return nil, fmt.Errorf("%w: class %q (key %q) matches no file; the label rule %q gave the keys %s (keys are case-sensitive)",
					ErrEmptyClass, names[i], k, pattern, keyCounts(found))
			}
		}
	}
	for _, m := range matched {
		label, ok := index[m.key]
		if !ok {
			s.Skipped = append(s.Skipped, fmt.Sprintf("%s: class key %q is not in the class mapping", m.path, m.key))
			continue
		}
		s.Items = append(s.Items, Item{Path: m.path, Rel: rel(dir, m.path), Label: label})
	}
	if len(s.Items) == 0 {
		return nil, fmt.Errorf("%w: no file name in %s matches the label rule %q", ErrNoImages, dir, pattern)
	}
	s.Classes = names
	return s, nil
}

// ManifestOptions control reading manifests.
type ManifestOptions struct {
	// Header says whether the first row is a header: HeaderAuto (the
	// default) takes it for one when it reads "path,label", or when its
	// path is no image file name and names no file, as "filename,class"
	// does.
	Header Header
	// AllowOutside accepts absolute paths and paths that climb out of the
	// manifest's folder with "..". Without it they are refused: a
	// manifest from elsewhere must not make transfer read arbitrary files.
	AllowOutside bool
}

// Header tells ReadManifest whether a manifest's first row is a header.
type Header int

const (
	HeaderAuto    Header = iota // decide from the row (see ManifestOptions)
	HeaderPresent               // the first row is a header
	HeaderAbsent                // the first row is data
)

// FromManifest reads a CSV file of path,label rows. The first row may be a
// header (see ManifestOptions.Header); a UTF-8 byte-order mark is ignored. Relative
// paths are relative to the manifest's folder. Classes are the sorted
// distinct labels. A row without a label, a path listed twice, and (unless
// opts.AllowOutside) a path outside the manifest's folder are errors that
// name the line.
func FromManifest(path string, opts ManifestOptions) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	return ReadManifest(f, filepath.Dir(path), path, opts)
}

// ReadManifest parses a manifest from r; dir resolves relative paths and
// name is used in errors.
func ReadManifest(r io.Reader, dir, name string, opts ManifestOptions) (*Set, error) {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	// Only spaces are trimmed from a path ("a.jpg, cat" is common): a
	// tab or other whitespace may begin a real file name, and our own
	// CSV writer keeps it.
	cr.Comment = '#'
	type row struct {
		path, label string
		line        int
	}
	var rows []row
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", name, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != 2 {
			ln, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("manifest %s line %d: %d fields, want 2 (path,label)", name, ln, len(rec))
		}
		p, l := strings.Trim(rec[0], " "), strings.TrimSpace(rec[1])
		if line == 1 && isHeader(p, l, dir, opts.Header) {
			continue
		}
		if p == "" {
			ln, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("manifest %s line %d: empty path", name, ln)
		}
		if l == "" {
			ln, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("manifest %s line %d: %s has no label", name, ln, p)
		}
		ln, _ := cr.FieldPos(0)
		rows = append(rows, row{p, l, ln})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: manifest %s lists no images", ErrNoImages, name)
	}
	labels := map[string]bool{}
	for _, r := range rows {
		labels[r.label] = true
	}
	s := &Set{Root: dir}
	for l := range labels {
		s.Classes = append(s.Classes, l)
	}
	sort.Strings(s.Classes)
	index := map[string]int{}
	for i, c := range s.Classes {
		index[c] = i
	}
	seen := map[string]row{}
	for _, r := range rows {
		p := filepath.FromSlash(r.path)
		outside := filepath.IsAbs(p) || filepath.VolumeName(p) != ""
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if rp, err := filepath.Rel(dir, p); err != nil || rp == ".." || strings.HasPrefix(rp, ".."+string(filepath.Separator)) {
			outside = true
		}
		if outside && !opts.AllowOutside {
			return nil, fmt.Errorf("%w: manifest %s line %d: %s is outside the manifest's folder; list paths below it, or allow this explicitly", ErrOutsideManifest, name, r.line, r.path)
		}
		if first, ok := seen[p]; ok {
			if first.label != r.label {
				return nil, fmt.Errorf("manifest %s line %d: %s is listed again, with label %q (line %d says %q); an image has one label", name, r.line, r.path, r.label, first.line, first.label)
			}
			return nil, fmt.Errorf("manifest %s line %d: %s is listed twice (first on line %d); each image once, or it weighs double", name, r.line, r.path, first.line)
		}
		seen[p] = r
		s.Items = append(s.Items, Item{Path: p, Rel: rel(dir, p), Label: index[r.label]})
	}
	sort.SliceStable(s.Items, func(i, j int) bool { return s.Items[i].Path < s.Items[j].Path })
	return s, nil
}

// isHeader decides whether a manifest's first row is a header.
func isHeader(p, l, dir string, h Header) bool {
	switch h {
	case HeaderPresent:
		return true
	case HeaderAbsent:
		return false
	}
	if strings.EqualFold(p, "path") && strings.EqualFold(l, "label") {
		return true
	}
	if IsImageName(p) || strings.ContainsAny(p, `/\`) {
		return false
	}
	full := p
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, p)
	}
	_, err := os.Stat(full)
	return err != nil
}

// FromPaths lists unlabelled images for prediction: each argument is an image
// file (taken whatever its extension) or a folder (its image files, at any
// depth). Files keep the order of the arguments; each folder's files are
// sorted.
func FromPaths(paths ...string) (*Set, error) {
	s := &Set{Root: "."}
	if len(paths) == 1 {
		s.Root = paths[0]
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			s.Items = append(s.Items, Item{Path: p, Rel: filepath.ToSlash(p), Label: Unlabelled})
			continue
		}
		files, skipped, err := walkImages(p)
		if err != nil {
			return nil, err
		}
		s.Skipped = append(s.Skipped, skipped...)
		for _, f := range files {
			s.Items = append(s.Items, Item{Path: f, Rel: rel(p, f), Label: Unlabelled})
		}
	}
	if len(s.Items) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoImages, strings.Join(paths, ", "))
	}
	return s, nil
}
