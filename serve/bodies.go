package serve

import (
	"io"
	"net/http"
	"sync"
)

// bodyBudget bounds the request-body bytes held at once across all
// requests. Without it every client could send a body of the limit at
// the same time, each read whole before admission: 40 bodies of 31 MB
// took 3.7 GB. A request reserves its Content-Length (the limit when it
// has none) before a byte is read and is answered 503 at once when the
// budget cannot grant it, as an overloaded queue is.
type bodyBudget struct {
	mu   sync.Mutex
	free int64
}

func newBodyBudget(size int64) *bodyBudget { return &bodyBudget{free: size} }

// take reserves n bytes, or reports false and reserves nothing.
func (b *bodyBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.free {
		return false
	}
	b.free -= n
	return true
}

func (b *bodyBudget) give(n int64) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
}

// readBody reads a request's body into one buffer of its Content-Length
// when it has one (io.ReadAll's growth would hold up to twice the bytes).
func readBody(r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n > 0 {
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(r.Body)
}
