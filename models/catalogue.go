package models

import (
	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
)

// Entry is one known backbone.
type Entry struct {
	// Name is what users type: transfer models pull NAME, --model NAME.
	Name        string
	Description string
	// URL is where Pull downloads the file from.
	URL string
	// SHA256 is the hex digest of the file; Size its length in bytes, or 0
	// when not recorded.
	SHA256 string
	Size   int64
	// Layout, Preprocess and Resize are the documented input pipeline.
	Layout     backbone.Layout
	Preprocess backbone.Preprocess
	Resize     dataset.ResizeMode
	// Embedding names the embedding tensor; "" lets discovery find it,
	// which it does for every entry here.
	Embedding string
}

// zooBase is the ONNX Model Zoo's folder of MobileNetV2 files.
const zooBase = "https://github.com/onnx/models/raw/main/validated/vision/classification/mobilenet/model/"

// Catalogue lists the known backbones. The ONNX Model Zoo documents the same
// pipeline for its three MobileNetV2 files: resize the shorter side to 256,
// centre-crop 224, scale to [0, 1] and normalise with the ImageNet mean and
// standard deviation (torchvision's transforms), in NCHW.
var Catalogue = []Entry{
	{
		Name:        "mobilenetv2-12",
		Description: "MobileNetV2 1.0 224, ImageNet, ONNX Model Zoo (torchvision export, opset 12)",
		URL:         zooBase + "mobilenetv2-12.onnx",
		SHA256:      "c0c3f76d93fa3fd6580652a45618618a220fced18babf65774ed169de0432ad5",
		Size:        13964571,
		Layout:      backbone.NCHW, Preprocess: backbone.Torch, Resize: dataset.ResizeCrop,
	},
	{
		Name:        "mobilenetv2-10",
		Description: "MobileNetV2 1.0 224, ImageNet, ONNX Model Zoo (torchvision export, opset 10)",
		URL:         zooBase + "mobilenetv2-10.onnx",
		SHA256:      "0e7c0aa4bc74650386fa1d2c84705753de7c2bdb21909ada5c59154bb429e092",
		Layout:      backbone.NCHW, Preprocess: backbone.Torch, Resize: dataset.ResizeCrop,
	},
	{
		Name:        "mobilenetv2-7",
		Description: "MobileNetV2 1.0 224, ImageNet, ONNX Model Zoo (MXNet export, opset 7, batch fixed at 1)",
		URL:         zooBase + "mobilenetv2-7.onnx",
		SHA256:      "c1c513582d56afceff8516c73804e484c81c6a830712ab6d682253f4a3cd042f",
		Layout:      backbone.NCHW, Preprocess: backbone.Torch, Resize: dataset.ResizeCrop,
	},
}

// Lookup returns the catalogue entry called name.
func Lookup(name string) (Entry, bool) {
	for _, e := range Catalogue {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// BySHA256 returns the catalogue entry whose file has the given digest.
func BySHA256(sum string) (Entry, bool) {
	for _, e := range Catalogue {
		if e.SHA256 == sum {
			return e, true
		}
	}
	return Entry{}, false
}
