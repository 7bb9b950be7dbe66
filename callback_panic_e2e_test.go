package wsgi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// panickyWriter is a ResponseWriter from middleware that panics on its
// second Write: Go code that the C side reaches through a callback.
type panickyWriter struct {
	h      http.Header
	writes int
}

var errMiddleware = errors.New("middleware panic")

func (w *panickyWriter) Header() http.Header { return w.h }
func (w *panickyWriter) WriteHeader(int)     {}
func (w *panickyWriter) Flush()              {}
func (w *panickyWriter) Write(p []byte) (int, error) {
	if w.writes++; w.writes > 1 {
		panic(errMiddleware)
	}
	return len(p), nil
}

// TestPanicInCallback checks that a panic in Go code run from a callback
// (a block sent by gowsgiBlock, a write() through gowsgiWrite) comes out of
// ServeHTTP as itself, after the request ended in C: close() called once,
// and the interpreter intact for the next request. Unwinding through
// CPython's frames (write()) used to corrupt the interpreter: every later
// request failed, CPython printing its "lineno: ..., opcode: ..." error on stderr.
func TestPanicInCallback(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app")
	srv := serve(t, app)
	for _, tc := range []struct{ name, path string }{
		{"block", "/tracked?mode=endless&id="}, // gowsgiBlock
		{"write", "/write_gone?id="},           // gowsgiWrite, inside the app call
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newCloseID(t)
			got := func() (p any) {
				defer func() { p = recover() }()
				app.ServeHTTP(&panickyWriter{h: http.Header{}}, httptest.NewRequest("GET", tc.path+id, nil))
				return nil
			}()
			if got != errMiddleware {
				t.Errorf("ServeHTTP panicked with %v, want the writer's own panic", got)
			}
			if r := waitCloses(t, srv.URL, id); r.Closes != 1 {
				t.Errorf("close() called %d times, want 1", r.Closes)
			}
			// The interpreter still works, on any thread.
			for i := 0; i < 8; i++ {
				resp, body := get(t, srv.URL+"/tracked?mode=normal&id="+newCloseID(t))
				if resp.StatusCode != 200 || string(body) != "block 1\nblock 2\nblock 3\n" {
					t.Fatalf("the next request got %s %q", resp.Status, strings.TrimSpace(string(body)))
				}
			}
		})
	}
}
