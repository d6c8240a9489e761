package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
)

// TestShardedJobExamples runs the README's Kubernetes Indexed Job and Slurm
// array commands (examples/) for every index against this CLI, with the
// job's paths moved into a temporary folder, and checks that the merged
// shard caches hold every image once. No scheduler is involved here:
// scripts/slurm-test.sh runs the Slurm file under a real Slurm.
func TestShardedJobExamples(t *testing.T) {
	ortest.Require(t)
	readme := read(t, filepath.Join("..", "..", "README.md"))
	jobFile := read(t, filepath.Join("..", "..", "examples", "kubernetes", "extract-job.yaml"))
	sbatch := read(t, filepath.Join("..", "..", "examples", "slurm", "extract.sbatch"))
	for name, text := range map[string]string{"extract-job.yaml": jobFile, "extract.sbatch": sbatch} {
		if !strings.Contains(readme, text) {
			t.Errorf("README.md does not show examples' %s as it is", name)
		}
	}

	var job struct {
		Spec struct {
			Completions, Parallelism int
			CompletionMode           string `yaml:"completionMode"`
			Template                 struct {
				Spec struct {
					Containers []struct {
						Command []string
					}
				}
			}
		}
	}
	if err := yaml.Unmarshal([]byte(jobFile), &job); err != nil {
		t.Fatal(err)
	}
	cs := job.Spec.Template.Spec.Containers
	if job.Spec.CompletionMode != "Indexed" || job.Spec.Completions < 2 || len(cs) != 1 || len(cs[0].Command) != 3 || cs[0].Command[0] != "sh" || cs[0].Command[1] != "-c" {
		t.Fatalf("job spec: %+v", job.Spec)
	}
	k8s := cs[0].Command[2]
	if !strings.Contains(k8s, "--shard $JOB_COMPLETION_INDEX/"+strconv.Itoa(job.Spec.Completions)+" ") {
		t.Errorf("the job's --shard count differs from its %d completions: %s", job.Spec.Completions, k8s)
	}
	m := regexp.MustCompile(`(?m)^#SBATCH --array=0-(\d+)$`).FindStringSubmatch(sbatch)
	if m == nil {
		t.Fatal("extract.sbatch has no #SBATCH --array=0-N")
	}
	tasks, _ := strconv.Atoi(m[1])
	tasks++
	if !strings.Contains(sbatch, `--shard "$SLURM_ARRAY_TASK_ID/`+strconv.Itoa(tasks)+`"`) {
		t.Errorf("extract.sbatch's --shard count differs from its %d array tasks", tasks)
	}

	for _, tc := range []struct {
		name   string
		script string
		n      int
		env    string
	}{
		{"kubernetes", k8s, job.Spec.Completions, "JOB_COMPLETION_INDEX"},
		{"slurm", sbatch, tasks, "SLURM_ARRAY_TASK_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			os.MkdirAll(bin, 0o755)
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(exe, filepath.Join(bin, "transfer")); err != nil {
				t.Fatal(err)
			}
			// The container's mounts and the job's relative paths, here.
			script := strings.NewReplacer("/models/", dir+"/models/", "/data/", dir+"/data/", "/out/", dir+"/out/").Replace(tc.script)
			for _, d := range []string{"models", "data", "out", "logs"} {
				os.MkdirAll(filepath.Join(dir, d), 0o755)
			}
			model := filepath.Join(dir, "model.onnx")
			if err := mobilenet.New(mobilenet.Small(mobilenet.TF2ONNX, 1)).WriteFile(model); err != nil {
				t.Fatal(err)
			}
			os.Link(model, filepath.Join(dir, "models", "mobilenetv2-12.onnx"))
			photos, err := synthetic.Write(filepath.Join(dir, "photos"), synthetic.Options{Classes: []string{"a", "b"}, PerClass: 10, Width: 40, Height: 30, Seed: 8})
			if err != nil {
				t.Fatal(err)
			}
			os.Symlink(filepath.Join(dir, "photos"), filepath.Join(dir, "data", "photos"))
			for i := range tc.n {
				cmd := exec.Command("sh", "-c", script)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), asCommandEnv+"=1", "PATH="+bin+":"+os.Getenv("PATH"), tc.env+"="+strconv.Itoa(i))
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("index %d: %v\n%s", i, err, out)
				}
			}
			shards, _ := filepath.Glob(filepath.Join(dir, "out", "shard-*.db"))
			if len(shards) != tc.n {
				t.Fatalf("%d shard caches for %d indices", len(shards), tc.n)
			}
			r := transfer(t, dir, nil, append([]string{"cache", "merge", "merged.db"}, shards...)...)
			if r.code != 0 {
				t.Fatalf("merge: %s", r.stderr)
			}
			r = transfer(t, dir, nil, "cache", "stats", "--cache", "merged.db")
			if want := strconv.Itoa(len(photos)) + " distinct images"; !strings.Contains(r.stdout, want) {
				t.Errorf("merged cache: want %s\n%s", want, r.stdout)
			}
		})
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
