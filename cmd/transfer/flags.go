package main

import (
	"strings"

	"github.com/urfave/cli/v2"
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
	Cache     string
	Batch     int
	Epochs    int
	BatchSize int
	LR        float64
	Seed      int64
	TopK      int
	Folds     int
}{
	Cache:     ".transfer/cache.db",
	Batch:     32,
	Epochs:    20,
	BatchSize: 32,
	LR:        0.001,
	Seed:      1,
	TopK:      3,
	Folds:     5,
}

// envVars derives a flag's environment variable from its name:
// --models-dir becomes TRANSFER_MODELS_DIR.
func envVars(name string) []string {
	return []string{"TRANSFER_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
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
