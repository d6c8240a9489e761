// Package imagenet names the 1000 ImageNet classes that classifiers
// pretrained on ImageNet output, in their index order.
//
// classes.txt comes from the npm package @tensorflow-models/mobilenet
// (Apache-2.0; regenerate with gen.sh); the ONNX Model Zoo's MobileNetV2
// models and Keras' decode_predictions use the same order.
package imagenet

import (
	_ "embed"
	"strings"
)

//go:generate ./gen.sh

//go:embed classes.txt
var classesTxt string

// Classes holds every class's names, its synonyms separated by ", ".
var Classes = strings.Split(strings.TrimSuffix(classesTxt, "\n"), "\n")

// Name returns the short name of class i, its first synonym ("tabby" for
// "tabby, tabby cat"), as Keras' decode_predictions prints it.
func Name(i int) string {
	if i < 0 || i >= len(Classes) {
		return "?"
	}
	name, _, _ := strings.Cut(Classes[i], ",")
	return name
}

// Cats are the indices of the domestic cat classes: tabby, tiger cat,
// Persian, Siamese and Egyptian cat.
var Cats = []int{281, 282, 283, 284, 285}

// IsCat reports whether class i is a domestic cat.
func IsCat(i int) bool { return i >= 281 && i <= 285 }
