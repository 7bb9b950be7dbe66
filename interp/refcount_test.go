//go:build pydebug

package interp_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gowsgi/wsgi"
)

// failingWriter is a client that goes away after the first write.
type failingWriter struct {
	h      http.Header
	writes int
}

func (w *failingWriter) Header() http.Header { return w.h }
func (w *failingWriter) WriteHeader(int)     {}
func (w *failingWriter) Write(p []byte) (int, error) {
	if w.writes++; w.writes > 1 {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}
func (w *failingWriter) Flush() {}

// badBody fails as net/http's chunked reader does on a malformed body.
type badBody struct{}

func (badBody) Read([]byte) (int, error) { return 0, errors.New("malformed chunked encoding") }

// TestRefcount runs every request path many times under Debian's debug
// interpreter and checks that sys.gettotalrefcount() stays flat: a
// reference leaked per request shows as growth of one per request or more.
func TestRefcount(t *testing.T) {
	app := load(t, "refapp:app", wsgi.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	refs := func() int {
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, httptest.NewRequest("GET", "/refs", nil))
		n, err := strconv.Atoi(rec.Body.String())
		if err != nil {
			t.Fatalf("/refs: %d %q (is this the debug interpreter?)", rec.Code, rec.Body)
		}
		return n
	}
	small := strings.Repeat("line of input\n", 100)
	large := strings.Repeat("a longer line of request body input\n", 5000) // > pre-read limit: streamed
	paths := []string{"/list", "/big", "/gen", "/longgen", "/citer", "/lazy", "/genfail", "/firstfail", "/raise",
		"/badstatus", "/badheader", "/caught", "/excinfo", "/write", "/file", "/bytesio",
		"/errors", "/str", "/none", "/nostart", "/input", "/input-large", "/input-chunked", "/gone", "/gone-tail", "/input-bad"}
	run := func(p string) {
		var body io.Reader
		switch p {
		case "/input":
			body = strings.NewReader(small)
		case "/input-large":
			p, body = "/input", strings.NewReader(large)
		case "/input-chunked":
			p, body = "/input", io.MultiReader(strings.NewReader(small)) // unknown length: streamed
		case "/input-bad":
			// A malformed chunked body: the app's OSError becomes a 400.
			p, body = "/input", io.MultiReader(strings.NewReader(small), badBody{})
		}
		req := httptest.NewRequest("POST", p, body)
		if p == "/input" && body != nil {
			if _, ok := body.(*strings.Reader); !ok {
				req.ContentLength = -1
			}
		}
		if p == "/gone" || p == "/gone-tail" {
			// The client leaves at the second write: a block of a
			// generator, or the last block of a list, which comes back
			// with the end of the request (ended by the C side: Go must
			// not end it again).
			req = httptest.NewRequest("GET", map[string]string{"/gone": "/gen", "/gone-tail": "/tail"}[p], nil)
			func() {
				defer func() { recover() }() // the handler aborts: http.ErrAbortHandler
				app.ServeHTTP(&failingWriter{h: http.Header{}}, req)
			}()
			return
		}
		func() {
			defer func() { recover() }() // aborted mid-stream responses
			app.ServeHTTP(httptest.NewRecorder(), req)
		}()
	}
	const warm, rounds = 50, 300
	for i := 0; i < warm; i++ {
		for _, p := range paths {
			run(p)
		}
	}
	before := refs()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ { // several OS threads, each with its own thread state
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds/4; i++ {
				for _, p := range paths {
					run(p)
				}
			}
		}()
	}
	wg.Wait()
	after := refs()
	n := rounds * len(paths)
	perReq := float64(after-before) / float64(n)
	t.Logf("sys.gettotalrefcount: %d -> %d over %d requests (%+.3f per request)", before, after, n, perReq)
	if perReq > 0.05 {
		t.Errorf("reference leak: %+.3f refs per request", perReq)
	}
}
