package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/experiment"
	"github.com/transfer-go/transfer/head"
)

// Flag categories, as --help groups them.
const (
	catModel    = "MODEL"
	catRuntime  = "RUNTIME"
	catData     = "DATA"
	catCache    = "CACHE"
	catTraining = "TRAINING"
	catOutput   = "OUTPUT"
)

// defaults holds the defaults of the flags that are not a library's own
// (the training ones come from head.DefaultOptions).
var defaults = struct {
	Cache string
	// Batch is the CPU's images per inference call: 8 extracts as fast
	// as 32 or faster at under half the memory (BENCHMARKS.md); a GPU
	// gets GPUBatch.
	Batch         int
	GPUBatch      int
	TopK          int
	Folds         int
	TutorialModel string
}{
	Cache:         ".transfer/cache.db",
	Batch:         8,
	GPUBatch:      32,
	TopK:          3,
	Folds:         5,
	TutorialModel: "mobilenetv2-12",
}

// training are head's defaults, Keras' own, which the training flags show.
var training = head.DefaultOptions()

// envVars derives a flag's environment variable from its name:
// --models-dir becomes TRANSFER_MODELS_DIR.
func envVars(name string) []string {
	return []string{"TRANSFER_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

// withEnvVars gives every flag of the commands (and their subcommands) that
// has none its environment variable, as geth does: one rule, no flag
// forgotten.
func withEnvVars(flags []cli.Flag, cmds []*cli.Command) {
	for _, f := range flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			if f.EnvVars == nil {
				f.EnvVars = envVars(f.Name)
			}
		case *cli.IntFlag:
			if f.EnvVars == nil {
				f.EnvVars = envVars(f.Name)
			}
		case *cli.Int64Flag:
			if f.EnvVars == nil {
				f.EnvVars = envVars(f.Name)
			}
		case *cli.Float64Flag:
			if f.EnvVars == nil {
				f.EnvVars = envVars(f.Name)
			}
		case *cli.BoolFlag:
			if f.EnvVars == nil {
				f.EnvVars = envVars(f.Name)
			}
		}
	}
	for _, c := range cmds {
		withEnvVars(c.Flags, c.Subcommands)
	}
}

var (
	modelFlag = &cli.StringFlag{
		Name: "model", Aliases: []string{"m"}, Category: catModel, EnvVars: envVars("model"),
		Usage: "backbone: an ONNX file, or the name of a pulled catalogue model (transfer models list)",
	}
	preprocessFlag = &cli.StringFlag{
		Name: "preprocess", Category: catModel,
		Usage: "input scaling: keras (x/127.5-1), torch (x/255, ImageNet mean/std) or raw (x/255); default: the catalogue's, else keras for NHWC and torch for NCHW models",
	}
	layoutFlag = &cli.StringFlag{
		Name: "layout", Category: catModel,
		Usage: "input layout, nchw or nhwc, for models whose input shape does not tell",
	}
	inputSizeFlag = &cli.IntFlag{
		Name: "input-size", Category: catModel, DefaultText: "the model's, else 224",
		Usage: "image side in pixels for models with dynamic height and width",
	}
	embeddingOutputFlag = &cli.StringFlag{
		Name: "embedding-output", Category: catModel,
		Usage: "name of the embedding tensor, instead of discovering the pooled features",
	}
	resizeFlag = &cli.StringFlag{
		Name: "resize", Category: catModel,
		Usage: "stretch (whole image to the input size, as the Keras tutorial) or crop (shorter side to 256/224 of it, centre crop, as torchvision); default: the catalogue's, else stretch",
	}
	filterFlag = &cli.StringFlag{
		Name: "filter", Category: catModel, Value: "bilinear",
		Usage: "resampling filter: bilinear (antialiased on downscale) or nearest (PIL's rule, Keras load_img's default)",
	}
	decoderFlag = &cli.StringFlag{
		Name: "decoder", Category: catModel, Value: "auto", EnvVars: envVars("decoder"),
		Usage: "JPEG decoder: turbojpeg (libjpeg-turbo, several times faster, downscales large images while decoding), go (the same pixels everywhere), or auto (turbojpeg when libturbojpeg is installed); caches keep their embeddings apart",
	}
	modelsDirFlag = &cli.StringFlag{
		Name: "models-dir", Category: catModel, EnvVars: envVars("models-dir"), DefaultText: "<user cache dir>/transfer/models",
		Usage: "where pulled models live",
	}

	deviceFlag = &cli.StringFlag{
		Name: "device", Category: catRuntime, Value: "cpu", EnvVars: envVars("device"),
		Usage: "cpu, or cuda[:N] for the CUDA execution provider (needs the GPU build of ONNX Runtime; never falls back to the CPU)",
	}
	threadsFlag = &cli.IntFlag{
		Name: "threads", Category: catRuntime, DefaultText: "one per core",
		Usage: "ONNX Runtime intra-op threads on the CPU",
	}
	ortLibFlag = &cli.StringFlag{
		Name: "ort-lib", Category: catRuntime, DefaultText: "$ONNXRUNTIME_LIB, then the per-user cache filled by scripts/install-onnxruntime.sh, then the system's library path",
		Usage: "ONNX Runtime shared library",
	}
)

// backboneFlags are the flags of every command that runs a backbone.
func backboneFlags() []cli.Flag {
	return []cli.Flag{modelFlag, preprocessFlag, layoutFlag, inputSizeFlag, embeddingOutputFlag,
		resizeFlag, filterFlag, decoderFlag, modelsDirFlag, deviceFlag, threadsFlag, ortLibFlag}
}

// From data.go.
var (
	dataFlag = &cli.StringFlag{
		Name: "data", Aliases: []string{"d"}, Category: catData, EnvVars: envVars("data"),
		Usage: "image folder: one subfolder per class, or files named by class with --label-regex",
	}
	manifestFlag = &cli.StringFlag{
		Name: "manifest", Category: catData,
		Usage: "CSV file of path,label rows (paths relative to the file's folder), instead of --data",
	}
	labelRegexFlag = &cli.StringFlag{
		Name: "label-regex", Category: catData,
		Usage: "take each image's class from its file name: the regular expression's first group (e.g. '^(f|m)' for f01.jpg, m01.jpg)",
	}
	classesFlag = &cli.StringFlag{
		Name: "classes", Category: catData,
		Usage: "with --label-regex: class names and order, as key=name pairs (e.g. f=female,m=male)",
	}
	headerFlag = &cli.BoolFlag{
		Name: "header", Category: catData, DefaultText: "auto: a first row of path,label, or one whose path is no image file, is a header",
		Usage: "the manifest's first row is a header (--header=false: it is data)",
	}
	allowEmptyClassesFlag = &cli.BoolFlag{Name: "allow-empty-classes", Category: catData, Usage: "train without the class folders that hold no image (refused otherwise)"}
	allowOutsideFlag      = &cli.BoolFlag{
		Name: "allow-outside", Category: catData,
		Usage: "accept manifest paths that are absolute or lead out of the manifest's folder with ..",
	}
)

// From embed.go.
var (
	cacheFlag = &cli.StringFlag{
		Name: "cache", Category: catCache, Value: defaults.Cache, EnvVars: envVars("cache"),
		Usage: "embedding cache file (SQLite); one file serves many models and experiments",
	}
	batchFlag = &cli.IntFlag{
		Name: "infer-batch", Category: catRuntime, Value: defaults.Batch,
		Usage: "images per backbone inference call (not the training mini-batch, --batch-size); 32 with --device cuda",
	}
	// oldBatchFlag is --infer-batch's first name, still read.
	oldBatchFlag = &cli.IntFlag{Name: "batch", Hidden: true, Usage: "the same as --infer-batch"}
	workersFlag  = &cli.IntFlag{
		Name: "workers", Category: catRuntime, DefaultText: "one per core",
		Usage: "image decoding goroutines",
	}
	strictFlag = &cli.BoolFlag{
		Name: "strict", Category: catData,
		Usage: "fail when any image cannot be read or decoded, instead of reporting and skipping it",
	}
	quietFlag = &cli.BoolFlag{
		Name: "quiet", Aliases: []string{"q"}, Category: catOutput,
		Usage: "no progress output",
	}
	maxFileSizeFlag = &cli.IntFlag{
		Name: "max-file-size", Category: catData, Value: dataset.DefaultMaxFileSize >> 20,
		Usage: "refuse image files larger than this many MB, before reading them",
	}
	rehashFlag = &cli.BoolFlag{
		Name: "rehash", Category: catCache,
		Usage: "hash every image file again instead of trusting the cache's record of its size, modification time, inode and change time",
	}
	decodeMemoryFlag = &cli.IntFlag{
		Name: "decode-memory", Category: catData, Value: dataset.DefaultDecodeMemory >> 20,
		Usage: "MB that the images being decoded at once may take together; larger images wait their turn, and one that needs more alone is refused",
	}
	allowFailuresFlag = &cli.BoolFlag{
		Name: "allow-failures", Category: catData,
		Usage: "go on when more than half of the images cannot be used, with the ones that can",
	}
)

var headFlag = &cli.StringFlag{
	Name: "head", Category: catModel, EnvVars: envVars("head"),
	Usage: "trained head file (from transfer train -o)",
}

// From export.go.
var (
	withPreprocessingFlag = &cli.BoolFlag{Name: "with-preprocessing", Category: catOutput, Usage: "take raw pixels (see --pixel-type) and scale them inside the model, so deployments need no preprocessing code"}
	pixelTypeFlag         = &cli.StringFlag{Name: "pixel-type", Category: catOutput, Value: "uint8", Usage: "with --with-preprocessing: uint8, or float (values 0-255)"}
	noVerifyFlag          = &cli.BoolFlag{Name: "no-verify", Category: catOutput, Usage: "skip running the exported model against the backbone and head"}
	classifierFlag        = &cli.StringFlag{Name: "classifier", Category: catModel, Usage: "an ONNX classifier written by transfer export, used instead of --model and --head"}
)

var shardFlag = &cli.StringFlag{
	Name: "shard", Category: catData,
	Usage: "extract only shard i of n (i/n, i from 0): a deterministic part of the images by path, for parallel jobs that each write their own --cache; combine them with transfer cache merge",
}

// From format.go.
var (
	formatFlag = &cli.StringFlag{Name: "format", Category: catOutput, Value: formatText, Usage: "output: text, json or csv (where the command has a table)"}
	// jsonFlag is the older spelling of --format json.
	jsonFlag = &cli.BoolFlag{Name: "json", Category: catOutput, Hidden: true, Usage: "the same as --format json"}
)

var debugFlag = &cli.BoolFlag{
	Name: "debug", EnvVars: envVars("debug"),
	Usage: "print stack traces of internal errors",
}

// From predict.go.
var (
	errorsFlag        = &cli.StringFlag{Name: "errors", Category: catOutput, Usage: "write the misclassified images to this CSV file: path, true class, predicted class, probability, most confident first"}
	minConfidenceFlag = &cli.Float64Flag{Name: "min-confidence", Category: catOutput, Usage: "call an image unknown (JSON: class null) when its top probability is below P, e.g. 0.6"}
	topKFlag          = &cli.IntFlag{Name: "top", Aliases: []string{"k"}, Category: catOutput, Value: defaults.TopK, Usage: "classes shown per image"}
)

// From train.go.
var (
	epochsFlag    = &cli.IntFlag{Name: "epochs", Category: catTraining, Value: training.Epochs, Usage: "passes over the training images"}
	batchSizeFlag = &cli.IntFlag{Name: "batch-size", Category: catTraining, Value: training.BatchSize, Usage: "mini-batch size (Keras' default 32)"}
	lrFlag        = &cli.Float64Flag{Name: "lr", Category: catTraining, Value: training.LearningRate, Usage: "Adam learning rate (Keras' default 0.001)"}
	l2Flag        = &cli.StringFlag{Name: "l2", Category: catTraining, Value: "0", Usage: "L2 penalty on the kernel: adds l2·ΣW² to the loss; auto chooses it by validation over 1e-6…1e2 (needs --val-split, --val-data, --val-last or --cv)"}
	solverFlag    = &cli.StringFlag{Name: "solver", Category: catTraining, Value: head.SolverAdam, Usage: "adam (Keras' mini-batch Adam) or lbfgs (full-batch L-BFGS to --tol, the linear probe of CLIP and scikit-learn)"}
	tolFlag       = &cli.Float64Flag{Name: "tol", Category: catTraining, Value: training.Tol, Usage: "lbfgs: stop when no gradient component exceeds this"}
	maxIterFlag   = &cli.IntFlag{Name: "max-iter", Category: catTraining, Value: training.MaxIter, Usage: "lbfgs: at most this many iterations"}
	standardize   = &cli.BoolFlag{Name: "standardize", Category: catTraining, Usage: "scale each feature to zero mean and unit variance (training rows' statistics, folded into the saved head)"}
	augmentFlag   = &cli.StringFlag{Name: "augment", Category: catTraining, Usage: "also train on augmented copies of the training images: hflip, crop10 (central 90%), or both comma-separated; embedded once and cached, never validated on"}
	splitSeedFlag = &cli.Int64Flag{Name: "split-seed", Category: catData, Usage: "seed of the validation split or folds alone (default: --seed)"}
	metricFlag    = &cli.StringFlag{Name: "metric", Category: catTraining, Value: string(experiment.Accuracy), Usage: "validation metric that --l2 auto and sweep rank by: accuracy, loss or macro-f1"}
	classWeight   = &cli.StringFlag{Name: "class-weight", Category: catTraining, Usage: "balanced (weigh each class's loss by n/(classes·n_class)), or class=weight pairs, e.g. cat=1,dog=2.5 (unnamed classes weigh 1)"}
	earlyStopFlag = &cli.IntFlag{Name: "early-stopping", Category: catTraining, Usage: "stop after N epochs without a better val_loss and restore the best weights (needs validation)"}
	seedFlag      = &cli.Int64Flag{Name: "seed", Category: catTraining, Value: int64(training.Seed), Usage: "seed of the initial weights, shuffles and splits: equal seeds give identical heads"}

	valSplitFlag = &cli.Float64Flag{Name: "val-split", Category: catData, Usage: "hold out this fraction of each class for validation (stratified, seeded)"}
	valDataFlag  = &cli.StringFlag{Name: "val-data", Category: catData, Usage: "validation images: a folder (read like --data, with the same --label-regex) or a CSV manifest"}
	valLastFlag  = &cli.IntFlag{Name: "val-last", Category: catData, Usage: "hold out the last K images of each class in file-name order (5 gives the tutorial's 30/10 split of the cats)"}
	cvFlag       = &cli.IntFlag{Name: "cv", Category: catData, Usage: "stratified K-fold cross-validation: the honest accuracy estimate for tiny data sets"}

	outputFlag = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Category: catOutput, Usage: "write the trained head to this file (JSON)"}
	plotFlag   = &cli.StringFlag{Name: "plot", Category: catOutput, Usage: "write a PNG plot to this file"}
)

// From runs.go.
var (
	runsModelFlag   = &cli.StringFlag{Name: "model", Category: catOutput, Usage: "only runs whose model contains this"}
	runsDataFlag    = &cli.StringFlag{Name: "data", Category: catOutput, Usage: "only runs whose data path contains this, or whose data fingerprint starts with it"}
	runsSinceFlag   = &cli.StringFlag{Name: "since", Category: catOutput, Usage: "only runs since a date (2026-11-29) or for a time back (36h, 7d)"}
	runsKindFlag    = &cli.StringFlag{Name: "kind", Category: catOutput, Usage: "only runs of this kind: train, sweep or eval"}
	runsSweepFlag   = &cli.Int64Flag{Name: "sweep", Category: catOutput, Usage: "only the configurations of this sweep"}
	runsCommandFlag = &cli.BoolFlag{Name: "command", Category: catOutput, Usage: "print only the command that reproduces the run"}
)

// cachePrecisionFlag sets a new cache's storage precision.
var cachePrecisionFlag = &cli.StringFlag{Name: "cache-precision", Category: catCache, Value: string(dataset.Float32),
	Usage: "float32 (exact), or float16 (half the bytes; values rounded to the nearest half) for a new cache; an existing cache keeps its own"}

// Downloads.
var (
	mirrorFlag  = &cli.StringFlag{Name: "mirror", Category: catModel, Usage: "fetch every download from URL/<file name> instead of its origin, with the same checksum (transfer models list --urls lists the files)"}
	urlsFlag    = &cli.BoolFlag{Name: "urls", Category: catOutput, Usage: "list the files a --mirror must serve: name, sha256, size, origin"}
	offlineFlag = &cli.BoolFlag{Name: "offline", Category: catModel, Usage: "download nothing: use what is already here, else generated data"}
)

var reportFlag = &cli.StringFlag{Name: "report", Category: catOutput, Usage: "write report.md with tables and PNG plots into this folder"}

// Flags of one command each.
var (
	npyFormatFlag       = &cli.StringFlag{Name: "format", Category: catOutput, Value: "npy", Usage: "output format (npy)"}
	npyOutputFlag       = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Category: catOutput, Usage: "output folder (required)"}
	onnxOutputFlag      = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Category: catOutput, Usage: "output ONNX file (required)"}
	tutorialValLastFlag = &cli.IntFlag{Name: "val-last", Category: catData, Value: 5, Usage: "step 3 validates on the last K images of each class"}
	foldsFlag           = &cli.IntFlag{Name: "folds", Category: catData, Value: defaults.Folds, Usage: "step 4's cross-validation folds"}
)
