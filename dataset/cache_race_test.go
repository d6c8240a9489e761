package dataset_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/transfer-go/transfer/dataset"
)

// childCacheEnv makes the test binary a process that opens the cache it
// names and records a backbone in it.
const childCacheEnv = "TRANSFER_TEST_OPEN_CACHE"

// TestConcurrentCreate starts four processes that create the same new cache
// at once, twenty times: every one must open it. Creating a cache races:
// SQLite refuses the losers' switch to WAL without waiting, and a reader can
// catch the file between two states.
func TestConcurrentCreate(t *testing.T) {
	if p := os.Getenv(childCacheEnv); p != "" {
		c, err := dataset.OpenCache(p)
		if err == nil {
			err = c.AddBackbone(dataset.Backbone{Fingerprint: "fp"})
			c.Close()
		}
		if err != nil {
			os.Stderr.WriteString("child: " + err.Error())
			os.Exit(1)
		}
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 20; round++ {
		path := filepath.Join(t.TempDir(), "cache.db")
		var wg sync.WaitGroup
		errs := make([]string, 4)
		for k := range errs {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				cmd := exec.Command(exe, "-test.run=^TestConcurrentCreate$")
				cmd.Env = append(os.Environ(), childCacheEnv+"="+path)
				if out, err := cmd.CombinedOutput(); err != nil {
					errs[k] = strings.TrimSpace(string(out))
				}
			}(k)
		}
		wg.Wait()
		for k, e := range errs {
			if e != "" {
				t.Fatalf("round %d, process %d: %s", round, k, e)
			}
		}
	}
}
