package dataset

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHalfRoundTrip: every half converts to a float32 and back unchanged;
// float32 values round to the nearest half, ties to even; overflow clamps
// and says so.
func TestHalfRoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue // NaNs
		}
		back, over := toHalf(fromHalf(uint16(h)))
		if back != uint16(h) || over {
			t.Fatalf("half %#04x → %v → %#04x", h, fromHalf(uint16(h)), back)
		}
	}
	// Nearest, checked against float64 arithmetic on the two neighbours.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		x := float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-7)))
		h, over := toHalf(x)
		if math.Abs(float64(x)) > MaxFloat16 {
			if !over || math.Abs(float64(fromHalf(h))) != MaxFloat16 {
				t.Fatalf("%v: %#04x, overflow %v", x, h, over)
			}
			continue
		}
		got := float64(fromHalf(h))
		down, up := float64(fromHalf(h-1)), float64(fromHalf(h+1))
		if h&0x7fff == 0 {
			down = -got
		}
		d := math.Abs(got - float64(x))
		if d > math.Abs(down-float64(x)) || d > math.Abs(up-float64(x)) {
			t.Fatalf("%v rounds to %v; a neighbour (%v, %v) is nearer", x, got, down, up)
		}
	}
	for _, tc := range []struct {
		x    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {0.000061035156, 0x0400}, {5.9604645e-08, 0x0001},
		{1 + 1.0/2048, 0x3c00},  // a tie: to even (down)
		{1 + 3.0/2048, 0x3c02},  // a tie: to even (up)
		{65519, 0x7bff},         // below the rounding boundary of the next binade
		{2.9802322e-08, 0x0000}, // half the smallest subnormal: to even, zero
	} {
		if h, _ := toHalf(tc.x); h != tc.want {
			t.Errorf("toHalf(%v) = %#04x, want %#04x", tc.x, h, tc.want)
		}
	}
	if _, over := toHalf(65520); !over {
		t.Error("65520 rounds beyond the largest half and must be reported")
	}
	b, over := encodeHalf([]float32{1, 1e6, -1e6, 0.5})
	if v := decodeValues(b, 4); over != 2 || v[1] != MaxFloat16 || v[2] != -MaxFloat16 || v[3] != 0.5 {
		t.Errorf("encodeHalf: %v, %d overflowed", v, over)
	}
}
