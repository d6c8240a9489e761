// Package ortest lets tests that need ONNX Runtime find it, and skip with a
// reason when it is not installed.
package ortest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/transfer-go/transfer/backbone"
)

// RequireEnv, when set to 1, turns a missing ONNX Runtime from a skip into a
// failure. CI sets it, so that a broken install cannot pass as skipped tests.
const RequireEnv = "TRANSFER_REQUIRE_ORT"

// Require loads ONNX Runtime (resolved as the tool resolves it) or skips t.
func Require(t testing.TB) {
	t.Helper()
	if _, err := backbone.LoadRuntime(""); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("ONNX Runtime is required (%s=1): %v", RequireEnv, err)
		}
		t.Skipf("ONNX Runtime not available: %v", err)
	}
}

// SharedDir returns the project's shared data directory, the folder shared/
// beside the repository's root, or skips t when it is absent, as it is on a
// fresh clone.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := FindShared()
	if dir == "" {
		t.Skip("../shared is absent (it holds the real model and the cat photos); skipping")
	}
	return dir
}

// FindShared returns the shared data directory, or "" when it is absent.
func FindShared() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	shared := filepath.Join(filepath.Dir(dir), "shared")
	if st, err := os.Stat(filepath.Join(shared, "README.md")); err != nil || st.IsDir() {
		return ""
	}
	return shared
}
