package download

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFetchBounds: a mirror that sends an endless body, claims a huge
// one, stalls before or after its headers, trickles past the deadline, or
// redirects in a loop ends the download with an error that says which
// bound it crossed, in bounded time, and leaves nothing behind.
func TestFetchBounds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		switch r.URL.Path {
		case "/endless":
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/huge":
			w.Header().Set("Content-Length", "10000000000")
			w.WriteHeader(200)
			w.Write(chunk)
		case "/stall-after-headers":
			w.Header().Set("Content-Length", "140000")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case "/stall-before-headers":
			<-r.Context().Done()
		case "/trickle":
			w.WriteHeader(200)
			for r.Context().Err() == nil {
				w.Write([]byte("x"))
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond)
			}
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))
	defer srv.Close()
	opts := Options{Mirror: srv.URL, MaxSize: 1 << 20, StallTimeout: 300 * time.Millisecond, Timeout: 2 * time.Second}
	cases := []struct {
		name string
		opts Options
		want error
		says string
	}{
		{"endless", opts, ErrTooLarge, "more than 1048576 bytes"},
		{"huge", opts, ErrTooLarge, "over the ceiling"},
		{"stall-after-headers", opts, ErrStalled, "nothing came for 300ms"},
		{"stall-before-headers", opts, ErrStalled, "nothing came for 300ms"},
		{"trickle", Options{Mirror: srv.URL, StallTimeout: time.Second, Timeout: 500 * time.Millisecond}, context.DeadlineExceeded, "did not finish in 500ms"},
		{"loop", opts, nil, "redirects"},
	}
	for _, tc := range cases {
		dir := t.TempDir()
		start := time.Now()
		err := Fetch(context.Background(), File{Name: tc.name, SHA256: strings.Repeat("0", 64)}, filepath.Join(dir, "f"), tc.opts)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want %v saying %q", tc.name, err, tc.want, tc.says)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: took %v", tc.name, took)
		}
		if left := leftovers(t, dir); len(left) != 0 {
			t.Errorf("%s: left %v", tc.name, left)
		}
	}
}
