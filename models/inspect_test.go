//go:build cgo

package models_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/models"
)

func TestInspect(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "zoo-like.onnx")
	if err := mobilenet.New(mobilenet.Small(mobilenet.MXNet, 1)).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	r, err := models.Resolve(path, models.Settings{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := models.Inspect(r)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Measured || rep.Info.Dim != 64 || rep.Info.FixedBatch != 1 || len(rep.Inputs) != 1 || rep.Inputs[0].Shape != "[1,3,32,32]" || rep.Opset != 7 {
		t.Errorf("report %+v", rep)
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	for _, want := range []string{
		"input:             data float [1,3,32,32]",
		"layout:            NCHW",
		"batch:             fixed at 1 (run image by image)",
		"preprocessing:     torch (guessed from the NCHW layout",
		"embedding tensor:  pooled",
		"  read by:         mobilenetv20_output_pred_fwd (Conv)",
		"embedding dim:     64",
		"logits:            mobilenetv20_output_flatten0_reshape0 (10 classes)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}
