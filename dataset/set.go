package dataset

import (
	"fmt"
	"hash/fnv"
	"path/filepath"
	"strconv"
	"strings"
)

// Unlabelled is the Label of items without a class.
const Unlabelled = -1

// Item is one image file.
type Item struct {
	// Path is the file's path as the set found it (relative paths are
	// relative to the working directory).
	Path string
	// Rel is the path relative to the set's root, used for sharding and
	// reports; it is the same on every machine that mounts the data.
	Rel string
	// Label is the class index, or Unlabelled.
	Label int
}

// Set is an ordered list of images, labelled or not.
type Set struct {
	// Root is the folder (or manifest folder) the set was read from.
	Root  string
	Items []Item
	// Classes names the class indices; nil for an unlabelled set.
	Classes []string
	// Skipped lists files that were found but not used, with the reason.
	Skipped []string
	// EmptyClasses lists class folders without an image (FromFolders):
	// not classes of the set, which a caller should refuse or report.
	EmptyClasses []string
	// Loose counts the images directly in the root, beside the class
	// folders, which FromFolders does not use.
	Loose int
}

// Labelled reports whether the set has classes.
func (s *Set) Labelled() bool { return s.Classes != nil }

// Counts returns the number of items per class.
func (s *Set) Counts() []int {
	c := make([]int, len(s.Classes))
	for _, it := range s.Items {
		if it.Label >= 0 {
			c[it.Label]++
		}
	}
	return c
}

// Summary describes the set in one line: "40 images, 2 classes (female 20,
// male 20)".
func (s *Set) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", plural(len(s.Items), "image"))
	if s.Labelled() {
		fmt.Fprintf(&b, ", %s (", plural(len(s.Classes), "class"))
		for i, n := range s.Counts() {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", s.Classes[i], n)
		}
		b.WriteString(")")
	}
	if len(s.Skipped) > 0 {
		fmt.Fprintf(&b, "; %s skipped", plural(len(s.Skipped), "file"))
	}
	if len(s.EmptyClasses) > 0 {
		fmt.Fprintf(&b, "; %s without images left out (%s)", plural(len(s.EmptyClasses), "class folder"), strings.Join(s.EmptyClasses, ", "))
	}
	if s.Loose > 0 {
		fmt.Fprintf(&b, "; %s beside the class folders not used", plural(s.Loose, "image"))
	}
	return b.String()
}

// Labels returns the label of every item, in order.
func (s *Set) Labels() []int {
	y := make([]int, len(s.Items))
	for i, it := range s.Items {
		y[i] = it.Label
	}
	return y
}

// Shard is one of N deterministic, disjoint parts of a set.
type Shard struct {
	Index, Count int
}

// ParseShard reads "i/n" with 0 <= i < n: the index comes first and counts
// from 0, as a Kubernetes Indexed Job's JOB_COMPLETION_INDEX does.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("bad shard %q: want i/n with 0 <= i < n, e.g. 0/4", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// Contains reports whether the item at rel belongs to the shard. The test
// hashes the path relative to the set's root (FNV-1a), so every machine
// agrees whatever the mount point, and the shards of one set are disjoint
// and together hold every item.
func (sh Shard) Contains(rel string) bool {
	if sh.Count <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(filepath.ToSlash(rel)))
	return h.Sum64()%uint64(sh.Count) == uint64(sh.Index)
}

// Shard returns the items of s in shard sh, in order, sharing s's classes.
func (s *Set) Shard(sh Shard) *Set {
	out := &Set{Root: s.Root, Classes: s.Classes, Skipped: s.Skipped}
	for _, it := range s.Items {
		if sh.Contains(it.Rel) {
			out.Items = append(out.Items, it)
		}
	}
	return out
}

// Subset returns the items at idx, in that order, sharing s's classes.
func (s *Set) Subset(idx []int) *Set {
	out := &Set{Root: s.Root, Classes: s.Classes}
	for _, i := range idx {
		out.Items = append(out.Items, s.Items[i])
	}
	return out
}

// plural writes "1 image", "2 images", "1 class", "3 classes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// AlignClasses renumbers the set's labels to the class order of want (a
// head's, or a training set's), so that the same class has the same index
// in both. It fails, changing nothing, on a class that want lacks.
func (s *Set) AlignClasses(want []string) error {
	index := map[string]int{}
	for i, c := range want {
		index[c] = i
	}
	remap := make([]int, len(s.Classes))
	for i, c := range s.Classes {
		j, ok := index[c]
		if !ok {
			return fmt.Errorf("class %q is not among the classes %s", c, strings.Join(want, ", "))
		}
		remap[i] = j
	}
	for i := range s.Items {
		if s.Items[i].Label >= 0 {
			s.Items[i].Label = remap[s.Items[i].Label]
		}
	}
	s.Classes = want
	return nil
}
