package mobilenet

import "testing"

// TestTopology checks the real MobileNetV2's layer counts and widths.
func TestTopology(t *testing.T) {
	n := New(Config{Flavour: Torch, Seed: 1})
	if n.Blocks() != 17 {
		t.Fatalf("%d blocks, want 17", n.Blocks())
	}
	residual := 0
	for _, b := range n.blocks {
		if b.residual {
			residual++
		}
		if b.dw.groups != b.dw.in {
			t.Fatalf("%s is not depthwise", b.dw.name)
		}
	}
	// Residual adds: 1+2+3+2+2 (each repeat after the first of a stage
	// with stride 1 and equal widths) = 10 in MobileNetV2.
	if residual != 10 {
		t.Errorf("%d residual blocks, want 10", residual)
	}
	if n.stem.out != 32 || n.blocks[16].proj.out != 320 || n.last.out != 1280 || len(n.fcB) != 1000 {
		t.Errorf("widths: stem %d, last block %d, last conv %d, classes %d", n.stem.out, n.blocks[16].proj.out, n.last.out, len(n.fcB))
	}
	var params int
	for _, c := range append([]*conv{&n.stem, &n.last}, convs(n)...) {
		params += len(c.w) + len(c.b)
	}
	params += len(n.fcW) + len(n.fcB)
	// torchvision's MobileNetV2 has 3,504,872 parameters with batch norm
	// folded into biases; the generated one has the same layers.
	if params < 3_400_000 || params > 3_600_000 {
		t.Errorf("%d parameters, want about 3.5 million", params)
	}
	if makeDivisible(32*0.35) != 16 || makeDivisible(96*0.75) != 72 {
		t.Error("makeDivisible disagrees with the reference implementation")
	}
}

func convs(n *Net) []*conv {
	var out []*conv
	for i := range n.blocks {
		b := &n.blocks[i]
		if b.expand != nil {
			out = append(out, b.expand)
		}
		out = append(out, &b.dw, &b.proj)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a, b := New(Small(Torch, 3)), New(Small(Torch, 3))
	x := make([]float32, 3*32*32)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	ea, _ := a.Forward(x)
	eb, _ := b.Forward(x)
	for i := range ea {
		if ea[i] != eb[i] {
			t.Fatal("the same seed gave different networks")
		}
	}
	c := New(Small(Torch, 4))
	ec, _ := c.Forward(x)
	same := true
	for i := range ea {
		same = same && ea[i] == ec[i]
	}
	if same {
		t.Error("different seeds gave the same network")
	}
}
