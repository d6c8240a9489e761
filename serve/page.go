package serve

import (
	_ "embed"
	"net/http"
)

// pageHTML is the browser page: no external assets, it calls /v1/classify.
//
//go:embed page.html
var pageHTML []byte

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	w.Write(pageHTML)
}
