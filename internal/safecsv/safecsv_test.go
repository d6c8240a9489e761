package safecsv

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCell(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"cat", "cat"},
		{"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"+cmd f.jpg", "'+cmd f.jpg"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\ttab f.jpg", "'\ttab f.jpg"},
		{"\rcr", "'\rcr"},
		{"-1", "-1"},
		{"+0.5", "+0.5"},
		{"-3e-05", "-3e-05"},
		{"a=b", "a=b"},
		{"'quoted", "'quoted"},
	} {
		if got := Cell(c.in); got != c.want {
			t.Errorf("Cell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestWriteFile: what Python's csv module (and any reader) gets back is
// every cell, made safe, and the file is replaced whole.
func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	rows := [][]string{{"path", "n"}, {"=1+1", "-1"}, {"a,\"b\"\nc", "\tx"}}
	if err := WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"path", "n"}, {"'=1+1", "-1"}, {"a,\"b\"\nc", "'\tx"}}
	if len(got) != len(want) {
		t.Fatalf("read back %q", got)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d: %q, want %q", i, got[i], want[i])
		}
	}
}
