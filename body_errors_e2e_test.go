package wsgi_test

// Requests and responses that go wrong half-way: a malformed chunked
// request body, a list body with a bad item, a client gone as the last
// block of a list body goes out.

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMalformedChunkedBody: a chunked body that breaks its framing makes
// wsgi.input raise; an app that lets the error escape before sending
// anything gets its client a 400, not a cut connection or a 500.
func TestMalformedChunkedBody(t *testing.T) {
	srv, rec := rawServer(t)
	head := func(target string) string {
		return "POST " + target + " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	}
	for _, tc := range []struct{ name, target, body string }{
		{"size not hex", "/input?how=read_all", "zz\r\nabc\r\n0\r\n\r\n"},
		{"negative size", "/input?how=read_all", "-3\r\nabc\r\n0\r\n\r\n"},
		{"size too large", "/input?how=read_all", "fffffffffffffffff\r\nabc\r\n0\r\n\r\n"},
		{"data longer than its size", "/input?how=read_all", "2\r\nabcdef\r\n0\r\n\r\n"},
		{"no CRLF after data", "/input?how=read_all", "3\r\nabcXX0\r\n\r\n"},
		{"bare LF size line", "/input?how=read_all", "3\nabc\r\n0\r\n\r\n"},
		{"bad second chunk, read in pieces", "/input?how=read_n&n=2", "3\r\nabc\r\nq\r\n0\r\n\r\n"},
		{"bad chunk after a good line", "/input?how=readline", "4\r\nab\nc\r\nxyz\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := rawExchange(t, hostOf(srv), head(tc.target)+tc.body)
			h, body := splitRaw(t, raw)
			if !strings.HasPrefix(h, "HTTP/1.1 400 ") || body != "Bad Request\n" {
				t.Errorf("got\n%s\nwant 400 Bad Request with a plain body", raw)
			}
		})
	}
	rec.waitLog(t, "bad request body; answered", "400", "malformed request body")

	// A well-formed chunked body still reads.
	raw := rawExchange(t, hostOf(srv), head("/input?how=read_all")+"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	if !strings.HasPrefix(raw, "HTTP/1.1 200 ") || !strings.Contains(raw, `"body": "abcde"`) {
		t.Errorf("well-formed chunked body:\n%s", raw)
	}
}

// TestListBodyBadItem: a list or tuple body is all there before anything
// goes out, so a bad item makes a clean 500, not a cut connection.
func TestListBodyBadItem(t *testing.T) {
	srv, rec := rawServer(t)
	for _, target := range []string{"/list_bad_item", "/list_bad_item?tuple=1"} {
		resp, body := rawRoundTrip(t, hostOf(srv), "GET "+target+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != 500 || string(body) != "Internal Server Error\n" {
			t.Errorf("%s: %s %q; want a clean 500", target, resp.Status, body)
		}
	}
	rec.waitLog(t, "WSGI app error", "not bytes")
}

// TestListBodyShort: a list or tuple body shorter than its declared
// Content-Length is known before anything goes out: a clean 500 and a log
// line, not a status line followed by a cut. HEAD is not short.
func TestListBodyShort(t *testing.T) {
	srv, rec := rawServer(t)
	for _, target := range []string{"/list_short", "/list_short?tuple=1", "/list_short?big=1", "/list_short?big=1&tuple=1"} {
		resp, body := rawRoundTrip(t, hostOf(srv), "GET "+target+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != 500 || string(body) != "Internal Server Error\n" {
			t.Errorf("%s: %s %q; want a clean 500", target, resp.Status, body)
		}
	}
	rec.waitLog(t, "WSGI app error", "shorter than the Content-Length it declared", "the body is 10 bytes, its Content-Length 100")
	resp, _ := rawRoundTrip(t, hostOf(srv), "HEAD /list_short HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 || resp.ContentLength != 100 {
		t.Errorf("HEAD /list_short: %s, Content-Length %d; want 200 with the app's 100", resp.Status, resp.ContentLength)
	}
}

// brokenWriter is a ResponseWriter whose client goes away once limit body
// bytes have been written.
type brokenWriter struct {
	h     http.Header
	n     int
	limit int
}

func (w *brokenWriter) Header() http.Header { return w.h }
func (w *brokenWriter) WriteHeader(int)     {}
func (w *brokenWriter) Flush()              {}
func (w *brokenWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		return 0, errors.New("write: broken pipe")
	}
	w.n += len(p)
	return len(p), nil
}

// TestClientGoneAtLastListBlock: the last blocks of a list body come back
// from Python together with the end of the request; a client gone as they
// are written must not make Go end the request a second time (that freed
// the request object twice and crashed the process, at once under the
// debug interpreter: see TestRefcount's /gone-tail in interp/).
func TestClientGoneAtLastListBlock(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app")
	for i := 0; i < 200; i++ {
		w := &brokenWriter{h: http.Header{}, limit: 40000}
		func() {
			defer func() {
				if r := recover(); r != nil && r != http.ErrAbortHandler {
					t.Fatalf("ServeHTTP panicked: %v", r)
				}
			}()
			app.ServeHTTP(w, httptest.NewRequest("GET", "/list_tail", nil))
		}()
		if w.n != 40000 {
			t.Fatalf("wrote %d bytes before the client went, want 40000", w.n)
		}
	}
	resp, body := get(t, serve(t, app).URL+"/list_tail")
	if resp.StatusCode != 200 || len(body) != 40100 {
		t.Errorf("after: %s, %d bytes", resp.Status, len(body))
	}
}
