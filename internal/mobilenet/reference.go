package mobilenet

import "math"

// Forward evaluates the network on one image in plain Go and returns the
// pooled embedding (LastChannels values) and the model's output: logits for
// the Torch and MXNet flavours, softmax probabilities for the Keras ones.
//
// x is one image in NCHW order without the batch axis ([3][S][S],
// row-major), already preprocessed. Sums accumulate in float64, so the
// result is a reference for float32 runtimes, not a bit-exact twin.
func (n *Net) Forward(x []float32) (embedding, output []float32) {
	s := n.Config.InputSize
	a := &act{c: 3, h: s, w: s, v: make([]float64, len(x))}
	for i, v := range x {
		a.v[i] = float64(v)
	}
	a = a.conv(&n.stem)
	for i := range n.blocks {
		b := &n.blocks[i]
		in := a
		if b.expand != nil {
			a = a.conv(b.expand)
		}
		a = a.conv(&b.dw).conv(&b.proj)
		if b.residual {
			for j := range a.v {
				a.v[j] += in.v[j]
			}
		}
	}
	a = a.conv(&n.last)

	d, c := n.Config.LastChannels, n.Config.Classes
	emb := make([]float64, d)
	hw := a.h * a.w
	for ch := 0; ch < d; ch++ {
		var sum float64
		for _, v := range a.v[ch*hw : (ch+1)*hw] {
			sum += v
		}
		emb[ch] = sum / float64(hw)
	}
	logits := make([]float64, c)
	for i := 0; i < c; i++ {
		sum := float64(n.fcB[i])
		for j := 0; j < d; j++ {
			sum += float64(n.fcW[i*d+j]) * emb[j]
		}
		logits[i] = sum
	}
	if n.Config.Flavour.NHWC() {
		softmax(logits)
	}
	return toFloat32(emb), toFloat32(logits)
}

// act is one activation map, [c][h][w] row-major.
type act struct {
	c, h, w int
	v       []float64
}

func (a *act) conv(c *conv) *act {
	oh := (a.h+c.pad[0]+c.pad[2]-c.k)/c.stride + 1
	ow := (a.w+c.pad[1]+c.pad[3]-c.k)/c.stride + 1
	out := &act{c: c.out, h: oh, w: ow, v: make([]float64, c.out*oh*ow)}
	inPerGroup, outPerGroup := c.in/c.groups, c.out/c.groups
	for o := 0; o < c.out; o++ {
		g := o / outPerGroup
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				var sum float64
				if c.b != nil {
					sum = float64(c.b[o])
				}
				for i := 0; i < inPerGroup; i++ {
					ic := g*inPerGroup + i
					for ky := 0; ky < c.k; ky++ {
						iy := y*c.stride + ky - c.pad[0]
						if iy < 0 || iy >= a.h {
							continue
						}
						for kx := 0; kx < c.k; kx++ {
							ix := x*c.stride + kx - c.pad[1]
							if ix < 0 || ix >= a.w {
								continue
							}
							wv := c.w[((o*inPerGroup+i)*c.k+ky)*c.k+kx]
							sum += float64(wv) * a.v[(ic*a.h+iy)*a.w+ix]
						}
					}
				}
				if c.bnScale != nil {
					sum = float64(c.bnScale[o])*(sum-float64(c.bnMean[o]))/math.Sqrt(float64(c.bnVar[o])+bnEpsilon) + float64(c.bnBias[o])
				}
				if c.relu6 {
					sum = math.Min(math.Max(sum, 0), 6)
				}
				out.v[(o*oh+y)*ow+x] = sum
			}
		}
	}
	return out
}

func softmax(v []float64) {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	var sum float64
	for i, x := range v {
		v[i] = math.Exp(x - m)
		sum += v[i]
	}
	for i := range v {
		v[i] /= sum
	}
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
