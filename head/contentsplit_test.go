package head_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/transfer-go/transfer/head"
)

func keyed(prefix string, perClass []int) (y []int, keys []string) {
	for c, n := range perClass {
		for i := 0; i < n; i++ {
			y = append(y, c)
			keys = append(keys, fmt.Sprintf("%s-%d-%d", prefix, c, i))
		}
	}
	return y, keys
}

// TestContentSplitStaysPut: adding images never moves an old image between
// training and validation, and every class stays within one image of the
// exact fraction, before and after.
func TestContentSplitStaysPut(t *testing.T) {
	for _, frac := range []float64{0.1, 0.2, 0.25, 0.5} {
		for seed := uint64(1); seed <= 5; seed++ {
			y, keys := keyed("old", []int{20, 20, 7})
			s, sides, err := head.ContentSplit(y, keys, 3, frac, seed, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkFraction(t, y, s, 3, frac)
			// Ten new images, spread over the classes, and a new order.
			ny, nkeys := keyed("new", []int{4, 3, 3})
			y2 := append(append([]int(nil), ny...), y...)
			keys2 := append(append([]string(nil), nkeys...), keys...)
			s2, sides2, err := head.ContentSplit(y2, keys2, 3, frac, seed, sides)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range sides {
				if sides2[k] != v {
					t.Fatalf("frac %v seed %d: %s moved from val=%v", frac, seed, k, v)
				}
			}
			checkFraction(t, y2, s2, 3, frac)
			// The same call gives the same split.
			s3, _, _ := head.ContentSplit(y2, keys2, 3, frac, seed, sides)
			if fmt.Sprint(s3) != fmt.Sprint(s2) {
				t.Fatal("ContentSplit is not deterministic")
			}
		}
	}
}

func checkFraction(t *testing.T, y []int, s head.Split, classes int, frac float64) {
	t.Helper()
	n, val := make([]int, classes), make([]int, classes)
	for _, c := range y {
		n[c]++
	}
	for _, i := range s.Val {
		val[y[i]]++
	}
	for c := range n {
		if want := frac * float64(n[c]); math.Abs(float64(val[c])-want) > 1 {
			t.Errorf("class %d: %d of %d validate, want %.1f ± 1", c, val[c], n[c], want)
		}
	}
}

func TestContentSplitKeepsDuplicatesTogether(t *testing.T) {
	y, keys := keyed("k", []int{10, 10})
	// Rows 20–25 repeat rows 0–5's content.
	for i := 0; i < 6; i++ {
		y, keys = append(y, y[i]), append(keys, keys[i])
	}
	for seed := uint64(0); seed < 20; seed++ {
		s, _, err := head.ContentSplit(y, keys, 2, 0.3, seed, nil)
		if err != nil {
			t.Fatal(err)
		}
		side := map[string]string{}
		for name, rows := range map[string][]int{"train": s.Train, "val": s.Val} {
			for _, i := range rows {
				if other, ok := side[keys[i]]; ok && other != name {
					t.Fatalf("seed %d: %s is on both sides", seed, keys[i])
				}
				side[keys[i]] = name
			}
		}
	}
	if got := head.Duplicates(keys); len(got) != 6 || fmt.Sprint(got[0]) != "[0 20]" {
		t.Errorf("Duplicates = %v", got)
	}
	folds, err := head.StratifiedFolds(y, 2, 5, 3, keys...)
	if err != nil {
		t.Fatal(err)
	}
	for f, s := range folds {
		inVal := map[string]bool{}
		for _, i := range s.Val {
			inVal[keys[i]] = true
		}
		for _, i := range s.Train {
			if inVal[keys[i]] {
				t.Errorf("fold %d trains and validates on %s", f+1, keys[i])
			}
		}
	}
	// Without duplicates the folds are those of the unkeyed call.
	y, keys = keyed("k", []int{10, 10})
	a, _ := head.StratifiedFolds(y, 2, 5, 3, keys...)
	b, _ := head.StratifiedFolds(y, 2, 5, 3)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("keys without duplicates changed the folds")
	}
}

func TestTop(t *testing.T) {
	for _, tc := range []struct {
		p    []float64
		k    int
		want string
	}{
		{[]float64{0.1, 0.6, 0.3}, 2, "[1 2]"},
		{[]float64{0.25, 0.5, 0.25}, 3, "[1 0 2]"}, // ties keep their order
		{[]float64{0.4, 0.6}, 5, "[1 0]"},          // k capped
	} {
		if got := fmt.Sprint(head.Top(tc.p, tc.k)); got != tc.want {
			t.Errorf("Top(%v, %d) = %s, want %s", tc.p, tc.k, got, tc.want)
		}
	}
}
