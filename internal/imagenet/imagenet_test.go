package imagenet

import "testing"

func TestClasses(t *testing.T) {
	if len(Classes) != 1000 {
		t.Fatalf("%d classes, want 1000", len(Classes))
	}
	cases := map[int]string{0: "tench", 281: "tabby", 282: "tiger cat", 285: "Egyptian cat", 999: "toilet tissue"}
	for i, want := range cases {
		if got := Name(i); got != want {
			t.Errorf("Name(%d) = %q, want %q", i, got, want)
		}
	}
	if !IsCat(283) || IsCat(280) || IsCat(286) || Name(1000) != "?" {
		t.Error("cat range or bounds wrong")
	}
}
