package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/experiment"
)

// Class-size thresholds for warnings: a class this small, or this many
// times smaller than the largest, is more often a misspelled folder or a
// mistaken label rule than a real class.
const (
	smallClass   = 5
	imbalanceMax = 10
)

// checkClasses refuses label sets that cannot train a classifier, or cannot
// be split as asked, before any training: fewer than two classes with
// images, a class without images, a class with fewer images than folds (or
// than two, for a split). It warns of classes that are suspiciously small.
// counts are the usable images per class, after failed images are left
// out.
func checkClasses(c *cli.Context, stderr io.Writer, classes []string, counts []int, p experiment.Protocol) error {
	largest := slices.Max(append([]int{0}, counts...))
	listing := describeCounts(classes, counts)
	for i, n := range counts {
		if n == 0 {
			return usageError{fmt.Errorf("class %q has no usable images (%s): check the folder or the --label-regex/--classes rule, or leave the class out", classes[i], listing)}
		}
	}
	// Every class has images from here on.
	if len(counts) < 2 {
		return usageError{fmt.Errorf("only one class has images (%s): a classifier needs at least two classes", listing)}
	}
	need, why := 1, ""
	switch p.Kind {
	case experiment.CrossValidation:
		need, why = p.Folds, fmt.Sprintf("--cv %d puts an image of each class in every fold", p.Folds)
	case experiment.HoldOut:
		need, why = 2, "--val-split needs an image of each class on both sides"
	case experiment.LastPerClass:
		need, why = p.Last+1, fmt.Sprintf("--val-last %d holds out %d images of each class and needs one more to train on", p.Last, p.Last)
	}
	for i, n := range counts {
		if n < need {
			return usageError{fmt.Errorf("class %q has %s, fewer than %d: %s (%s)", classes[i], nImages(n), need, why, listing)}
		}
	}
	for i, n := range counts {
		switch {
		case n < smallClass:
			fmt.Fprintf(stderr, "warning: class %q has only %s (%s): a misspelled folder or label?\n", classes[i], nImages(n), listing)
		case n*imbalanceMax < largest:
			fmt.Fprintf(stderr, "warning: class %q has %d images, over %d times fewer than the largest (%s); consider --class-weight balanced\n", classes[i], n, imbalanceMax, listing)
		}
	}
	return nil
}

// describeCounts lists "female 20, male 0".
func describeCounts(classes []string, counts []int) string {
	parts := make([]string, len(classes))
	for i, name := range classes {
		parts[i] = fmt.Sprintf("%s %d", name, counts[i])
	}
	return strings.Join(parts, ", ")
}

// nImages writes "1 image" or "n images".
func nImages(n int) string {
	if n == 1 {
		return "1 image"
	}
	return fmt.Sprintf("%d images", n)
}
