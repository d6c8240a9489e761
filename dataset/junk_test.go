package dataset_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/transfer-go/transfer/dataset"
)

// TestFoldersIgnoreJunkAndSniffFormats: macOS's AppleDouble files, dotfiles,
// .DS_Store and Thumbs.db are not images of the set; a file's format comes
// from its bytes, so a PNG named .jpg is read and a text file named .jpg is
// reported as no image.
func TestFoldersIgnoreJunkAndSniffFormats(t *testing.T) {
	dir := t.TempDir()
	cat := filepath.Join(dir, "cat")
	os.MkdirAll(cat, 0o755)
	var pngBytes bytes.Buffer
	png.Encode(&pngBytes, image.NewNRGBA(image.Rect(0, 0, 8, 8)))
	files := map[string][]byte{
		"f01.jpg":            pngBytes.Bytes(), // a PNG under a JPEG name
		"text.jpg":           []byte("a text file, not an image"),
		"._f01.jpg":          []byte("\x00\x05\x16\x07AppleDouble"),
		".DS_Store":          []byte("Bud1"),
		"Thumbs.db":          []byte("thumbnails"),
		".hidden/secret.jpg": pngBytes.Bytes(),
	}
	for name, b := range files {
		p := filepath.Join(cat, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, b, 0o644)
	}
	set, err := dataset.FromFolders(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range set.Items {
		names = append(names, filepath.Base(it.Path))
	}
	if len(names) != 2 || names[0] != "f01.jpg" || names[1] != "text.jpg" {
		t.Fatalf("set holds %v, want f01.jpg and text.jpg", names)
	}
	r := dataset.Resizer{Width: 4, Height: 4}
	if _, err := dataset.Prepare(context.Background(), pngBytes.Bytes(), r, dataset.DecodeOptions{Decoder: dataset.TurboJPEG}); err != nil {
		t.Errorf("a PNG named .jpg: %v", err)
	}
	if _, err := dataset.Prepare(context.Background(), files["text.jpg"], r, dataset.DecodeOptions{}); !errors.Is(err, dataset.ErrUnsupportedFormat) {
		t.Errorf("a text file named .jpg: %v", err)
	}
}
