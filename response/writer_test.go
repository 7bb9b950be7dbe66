package response

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// hdrs builds a header list from name, value pairs.
func hdrs(kv ...string) []Header {
	h := make([]Header, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, Header{kv[i], kv[i+1]})
	}
	return h
}

// newWriter returns a Writer reset onto a new recorder for method.
func newWriter(method string) (*Writer, *httptest.ResponseRecorder) {
	rec := httptest.NewRecorder()
	rw := new(Writer)
	rw.Reset(rec, httptest.NewRequest(method, "/", nil))
	return rw, rec
}

func mustStart(t testing.TB, rw *Writer, status string, h ...string) {
	t.Helper()
	if err := rw.Start(status, hdrs(h...)); err != nil {
		t.Fatalf("Start(%q, %q) = %v", status, h, err)
	}
}

// start is mustStart for handlers, which run off the test goroutine.
func start(t testing.TB, rw *Writer, status string, h ...string) {
	t.Helper()
	if err := rw.Start(status, hdrs(h...)); err != nil {
		t.Errorf("Start(%q, %q) = %v", status, h, err)
	}
}

func mustWrite(t testing.TB, rw *Writer, s string) {
	t.Helper()
	if n, err := rw.Write([]byte(s)); n != len(s) || err != nil {
		t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
	}
}

// ---- Start ----

func TestStart(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		headers []Header
		ok      bool
	}{
		{"plain", "200 OK", hdrs("Content-Type", "text/plain"), true},
		{"no headers", "204 No Content", nil, true},
		{"empty reason", "200 ", nil, true},
		{"latin-1 reason", "200 caf\xe9", nil, true},
		{"content-length", "200 OK", hdrs("Content-Length", "5"), true},
		{"repeated headers", "200 OK", hdrs("Set-Cookie", "a=1", "Set-Cookie", "b=2"), true},
		{"bad status", "200", nil, false},
		{"1xx", "103 Early Hints", nil, false},
		{"status CRLF", "200 OK\r\nX: y", nil, false},
		{"bad name", "200 OK", hdrs("X Y", "1"), false},
		{"bad value", "200 OK", hdrs("X-Y", "a\r\nb"), false},
		{"hop-by-hop", "200 OK", hdrs("Content-Type", "text/plain", "transfer-encoding", "chunked"), false},
		{"two content-lengths", "200 OK", hdrs("Content-Length", "5", "content-length", "5"), false},
		{"bad content-length", "200 OK", hdrs("Content-Length", "5 "), false},
		{"negative content-length", "200 OK", hdrs("Content-Length", "-1"), false},
		{"huge content-length", "200 OK", hdrs("Content-Length", "9223372036854775808"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw, rec := newWriter("GET")
			err := rw.Start(tt.status, tt.headers)
			if (err == nil) != tt.ok {
				t.Fatalf("Start = %v, want ok = %v", err, tt.ok)
			}
			if rw.Started() != tt.ok {
				t.Errorf("Started() = %v, want %v", rw.Started(), tt.ok)
			}
			if rw.Sent() || rec.Code != 200 || rec.Body.Len() != 0 || len(rec.Header()) != 0 {
				t.Errorf("Start wrote something: sent=%v code=%d body=%q header=%v",
					rw.Sent(), rec.Code, rec.Body, rec.Header())
			}

			// A failing Start after a good one changes nothing.
			rw, rec = newWriter("GET")
			mustStart(t, rw, "202 Accepted", "X-First", "1", "Content-Length", "2")
			if err := rw.Start(tt.status, tt.headers); err == nil {
				if !tt.ok {
					t.Fatalf("second Start = nil, want an error")
				}
				return
			}
			if _, err := rw.Write([]byte("ok")); err != nil {
				t.Fatal(err)
			}
			if err := rw.Finish(); err != nil {
				t.Fatal(err)
			}
			if rec.Code != 202 || rec.Header().Get("X-First") != "1" || rec.Body.String() != "ok" {
				t.Errorf("after a failed Start: code %d, header %v, body %q; want the first Start's response",
					rec.Code, rec.Header(), rec.Body)
			}
		})
	}
}

func TestStartCopiesHeaders(t *testing.T) {
	rw, rec := newWriter("GET")
	h := hdrs("X-A", "1")
	mustStart(t, rw, "200 OK", "X-A", "1")
	if err := rw.Start("200 OK", h); err != nil {
		t.Fatal(err)
	}
	h[0] = Header{"X-B", "2"}
	rw.Finish()
	if got := rec.Header().Get("X-A"); got != "1" || rec.Header().Get("X-B") != "" {
		t.Errorf("headers changed after Start returned: %v", rec.Header())
	}
}

func TestStartReplace(t *testing.T) {
	rw, rec := newWriter("GET")
	mustStart(t, rw, "200 OK", "Content-Type", "text/html", "Content-Length", "100", "X-Old", "1")
	// start_response(..., exc_info) before anything was sent.
	mustStart(t, rw, "500 Oops", "Content-Type", "text/plain")
	mustWrite(t, rw, "failed")
	if err := rw.Finish(); err != nil {
		t.Fatalf("Finish = %v", err)
	}
	res := rec.Result()
	if res.StatusCode != 500 || res.Header.Get("Content-Type") != "text/plain" ||
		res.Header.Get("X-Old") != "" || res.Header.Get("Content-Length") != "" || rec.Body.String() != "failed" {
		t.Errorf("got %d %v %q, want the replacement response", res.StatusCode, res.Header, rec.Body)
	}
	if err := rw.Start("200 OK", nil); err != ErrHeaderSent {
		t.Errorf("Start after the header was sent = %v, want ErrHeaderSent", err)
	}
}

func TestNotStarted(t *testing.T) {
	f := tempFile(t, "data")
	calls := map[string]func(rw *Writer) error{
		"Write":      func(rw *Writer) error { _, err := rw.Write([]byte("x")); return err },
		"WriteEmpty": func(rw *Writer) error { _, err := rw.Write(nil); return err },
		"Flush":      func(rw *Writer) error { return rw.Flush() },
		"SendFile":   func(rw *Writer) error { _, err := rw.SendFile(f); return err },
		"Finish":     func(rw *Writer) error { return rw.Finish() },
	}
	for name, call := range calls {
		rw, rec := newWriter("GET")
		if err := call(rw); err != ErrNotStarted {
			t.Errorf("%s before Start = %v, want ErrNotStarted", name, err)
		}
		if rec.Body.Len() != 0 || rec.Flushed || len(rec.Header()) != 0 {
			t.Errorf("%s before Start touched the ResponseWriter", name)
		}
	}
}

// ---- headers ----

func TestHeaders(t *testing.T) {
	rw, rec := newWriter("GET")
	rec.Header().Set("X-Middleware", "kept")
	mustStart(t, rw, "201 Created",
		"content-type", "text/plain; charset=latin-1",
		"x-custom", " spaced\t",
		"Set-Cookie", "a=1",
		"set-cookie", "b=2",
		"X_Y", "underscore",
		"X-Latin", "caf\xe9",
	)
	mustWrite(t, rw, "hello")
	if err := rw.Finish(); err != nil {
		t.Fatal(err)
	}
	res := rec.Result()
	want := http.Header{
		"Content-Type": {"text/plain; charset=latin-1"},
		"X-Custom":     {" spaced\t"},
		"Set-Cookie":   {"a=1", "b=2"},
		"X_y":          {"underscore"},
		"X-Latin":      {"caf\xe9"},
		"X-Middleware": {"kept"},
	}
	if res.StatusCode != 201 {
		t.Errorf("status = %d, want 201", res.StatusCode)
	}
	if diff := cmp.Diff(want, res.Header); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
}

// TestRepeatedHeaderValues checks that values sharing one backing array do
// not overwrite each other when a header repeats.
func TestRepeatedHeaderValues(t *testing.T) {
	rw, rec := newWriter("GET")
	mustStart(t, rw, "200 OK", "A", "1", "B", "2", "a", "3", "C", "4", "b", "5")
	rw.SetLength(0)
	rw.Finish()
	want := http.Header{
		"A": {"1", "3"}, "B": {"2", "5"}, "C": {"4"},
		"Content-Length": {"0"}, "Content-Type": nil,
	}
	if diff := cmp.Diff(want, rec.Header()); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
}

func TestNoSniff(t *testing.T) {
	const body = "<!DOCTYPE html><html><body>hi</body></html>"
	handler := func(w http.ResponseWriter, r *http.Request) {
		var rw Writer
		rw.Reset(w, r)
		if err := rw.Start("200 OK", nil); err != nil {
			t.Error(err)
		}
		rw.Write([]byte(body))
		rw.Finish()
	}

	rec := httptest.NewRecorder()
	handler(rec, httptest.NewRequest("GET", "/", nil))
	if v, ok := rec.Result().Header["Content-Type"]; len(v) != 0 {
		t.Errorf("recorder: Content-Type = %q (present %v), want none", v, ok)
	}

	srv := httptest.NewServer(http.HandlerFunc(handler))
	defer srv.Close()
	raw := rawHTTP(t, srv, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	head, got, _ := strings.Cut(raw, "\r\n\r\n")
	if strings.Contains(strings.ToLower(head), "content-type") {
		t.Errorf("server sent a Content-Type the app did not set:\n%s", head)
	}
	if got != body {
		t.Errorf("body = %q, want %q", got, body)
	}
}

// ---- body length ----

func TestTruncate(t *testing.T) {
	rw, rec := newWriter("GET")
	mustStart(t, rw, "200 OK", "Content-Length", "5")
	mustWrite(t, rw, "hel")
	mustWrite(t, rw, "lo world")
	mustWrite(t, rw, "more")
	if err := rw.Finish(); err != nil {
		t.Errorf("Finish = %v, want nil", err)
	}
	if rec.Body.String() != "hello" {
		t.Errorf("body = %q, want %q", rec.Body, "hello")
	}

	// Over a real connection the dropped bytes must not reach the wire:
	// a second response on the same connection parses cleanly.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rw Writer
		rw.Reset(w, r)
		start(t, &rw, "200 OK", "Content-Type", "text/plain", "Content-Length", "5")
		rw.Write([]byte("hello world"))
		rw.Flush()
		rw.Write([]byte("!!!"))
		if err := rw.Finish(); err != nil {
			t.Errorf("Finish = %v", err)
		}
	}))
	defer srv.Close()
	for _, body := range pipeline(t, srv, "GET", 3) {
		if body != "hello" {
			t.Errorf("body = %q, want %q", body, "hello")
		}
	}
}

func TestShortBody(t *testing.T) {
	rw, rec := newWriter("GET")
	mustStart(t, rw, "200 OK", "Content-Length", "10")
	mustWrite(t, rw, "hello")
	if err := rw.Finish(); err != ErrShortBody {
		t.Errorf("Finish = %v, want ErrShortBody", err)
	}
	if rec.Body.String() != "hello" {
		t.Errorf("body = %q", rec.Body)
	}

	rw, _ = newWriter("GET")
	mustStart(t, rw, "200 OK", "Content-Length", "1")
	if err := rw.Finish(); err != ErrShortBody {
		t.Errorf("Finish with an empty body = %v, want ErrShortBody", err)
	}

	// Over a real server: the handler aborts and the client sees an
	// unexpected EOF, not a hung connection.
	for _, flush := range []bool{true, false} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var rw Writer
			rw.Reset(w, r)
			start(t, &rw, "200 OK", "Content-Length", "10")
			rw.Write([]byte("hello"))
			if flush {
				rw.Flush()
			}
			if err := rw.Finish(); err == ErrShortBody {
				panic(http.ErrAbortHandler)
			}
			t.Errorf("Finish did not report the short body")
		}))
		client := &http.Client{Timeout: 5 * time.Second}
		res, err := client.Get(srv.URL)
		if err == nil {
			var body []byte
			body, err = io.ReadAll(res.Body)
			res.Body.Close()
			if string(body) != "hello" {
				t.Errorf("flush=%v: body = %q, want %q", flush, body, "hello")
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("flush=%v: reading the body: %v, want unexpected EOF", flush, err)
			}
		} else if isTimeout(err) {
			t.Errorf("flush=%v: client timed out: %v", flush, err)
		}
		if err == nil {
			t.Errorf("flush=%v: client saw a complete response", flush)
		}
		srv.Close()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestSetLength(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		status  string
		headers []Header
		set     int64
		body    string
		wantCL  string
		want    string
		wantErr error
	}{
		{"list body", "GET", "200 OK", nil, 5, "hello", "5", "hello", nil},
		{"empty list", "GET", "200 OK", nil, 0, "", "0", "", nil},
		{"app length wins", "GET", "200 OK", hdrs("Content-Length", "3"), 5, "hello", "3", "hel", nil},
		{"app length short", "GET", "200 OK", hdrs("Content-Length", "8"), 5, "hello", "8", "hello", ErrShortBody},
		{"negative ignored", "GET", "200 OK", nil, -1, "hello", "", "hello", nil},
		{"HEAD", "HEAD", "200 OK", nil, 5, "hello", "5", "", nil},
		{"204", "GET", "204 No Content", nil, 5, "hello", "", "", nil},
		{"304", "GET", "304 Not Modified", nil, 5, "hello", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw, rec := newWriter(tt.method)
			if err := rw.Start(tt.status, tt.headers); err != nil {
				t.Fatal(err)
			}
			rw.SetLength(tt.set)
			rw.Write([]byte(tt.body))
			if err := rw.Finish(); err != tt.wantErr {
				t.Errorf("Finish = %v, want %v", err, tt.wantErr)
			}
			if got := rec.Header().Get("Content-Length"); got != tt.wantCL {
				t.Errorf("Content-Length = %q, want %q", got, tt.wantCL)
			}
			if rec.Body.String() != tt.want {
				t.Errorf("body = %q, want %q", rec.Body, tt.want)
			}
		})
	}

	// Too late once the header is out.
	rw, rec := newWriter("GET")
	mustStart(t, rw, "200 OK")
	rw.Flush()
	rw.SetLength(1)
	mustWrite(t, rw, "hello")
	if err := rw.Finish(); err != nil || rec.Body.String() != "hello" || rec.Header().Get("Content-Length") != "" {
		t.Errorf("SetLength after send: Finish = %v, body %q, header %v", err, rec.Body, rec.Header())
	}
}

// ---- HEAD, 204, 304 ----

func TestHEAD(t *testing.T) {
	rw, rec := newWriter("HEAD")
	mustStart(t, rw, "200 OK", "Content-Type", "text/plain", "Content-Length", "5")
	mustWrite(t, rw, "hello")
	mustWrite(t, rw, "more than declared")
	if err := rw.Finish(); err != nil {
		t.Errorf("Finish = %v, want nil", err)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("HEAD body = %q, want none", rec.Body)
	}
	if got := rec.Header().Get("Content-Length"); got != "5" {
		t.Errorf("Content-Length = %q, want 5", got)
	}
	if rw.count != 23 {
		t.Errorf("count = %d, want 23", rw.count)
	}

	// A HEAD app that sends no body at all is not short.
	rw, _ = newWriter("HEAD")
	mustStart(t, rw, "200 OK", "Content-Length", "5")
	if err := rw.Finish(); err != nil {
		t.Errorf("Finish with no body = %v, want nil", err)
	}

	for _, tt := range []struct {
		name string
		set  int64 // SetLength, or -1
		cl   string
	}{
		{"app length", -1, "5"},
		{"list length", 5, ""},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var rw Writer
			rw.Reset(w, r)
			h := []string{"Content-Type", "text/plain"}
			if tt.cl != "" {
				h = append(h, "Content-Length", tt.cl)
			}
			start(t, &rw, "200 OK", h...)
			rw.SetLength(tt.set)
			rw.Write([]byte("hello"))
			if err := rw.Finish(); err != nil {
				t.Errorf("%s: Finish = %v", tt.name, err)
			}
		}))
		raw := rawHTTP(t, srv, "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		head, body, ok := strings.Cut(raw, "\r\n\r\n")
		if !ok || !strings.HasPrefix(head, "HTTP/1.1 200 ") {
			t.Errorf("%s: bad response %q", tt.name, raw)
		}
		if !strings.Contains(head, "\r\nContent-Length: 5\r\n") && !strings.HasSuffix(head, "\r\nContent-Length: 5") {
			t.Errorf("%s: HEAD response lacks Content-Length: 5:\n%s", tt.name, head)
		}
		if body != "" {
			t.Errorf("%s: HEAD response has a body %q", tt.name, body)
		}
		// Keep-alive framing: two HEADs on one connection.
		for _, b := range pipeline(t, srv, "HEAD", 2) {
			if b != "" {
				t.Errorf("%s: HEAD body %q", tt.name, b)
			}
		}
		srv.Close()
	}
}

func TestNoBodyStatus(t *testing.T) {
	for _, status := range []string{"204 No Content", "304 Not Modified"} {
		rw, rec := newWriter("GET")
		mustStart(t, rw, status, "Content-Length", "100", "ETag", `"x"`)
		mustWrite(t, rw, "body bytes")
		if n, err := rw.SendFile(tempFile(t, "file")); n != 4 || err != nil {
			t.Errorf("%s: SendFile = %d, %v; want 4, nil", status, n, err)
		}
		if err := rw.Finish(); err != nil {
			t.Errorf("%s: Finish = %v, want nil", status, err)
		}
		if rec.Body.Len() != 0 {
			t.Errorf("%s: body %q, want none", status, rec.Body)
		}

		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var rw Writer
			rw.Reset(w, r)
			start(t, &rw, status, "ETag", `"x"`)
			rw.Write([]byte("body bytes"))
			if err := rw.Finish(); err != nil {
				t.Errorf("%s: Finish = %v", status, err)
			}
		}))
		for _, b := range pipeline(t, srv, "GET", 2) {
			if b != "" {
				t.Errorf("%s: body %q on the wire", status, b)
			}
		}
		srv.Close()
	}
}

// ---- empty bodies, Finish ----

func TestEmptyWrite(t *testing.T) {
	rw, rec := newWriter("GET")
	mustStart(t, rw, "200 OK")
	if n, err := rw.Write(nil); n != 0 || err != nil {
		t.Errorf("Write(nil) = %d, %v", n, err)
	}
	if n, err := rw.Write([]byte{}); n != 0 || err != nil {
		t.Errorf("Write(empty) = %d, %v", n, err)
	}
	if rw.Sent() {
		t.Errorf("an empty Write sent the header")
	}
	// start_response may still be replaced (exc_info).
	mustStart(t, rw, "500 Internal Server Error")
	if err := rw.Finish(); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 500 || !rw.Sent() {
		t.Errorf("code %d sent %v, want 500 true", rec.Code, rw.Sent())
	}
}

func TestFinishEmptyBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rw Writer
		rw.Reset(w, r)
		start(t, &rw, "404 Not Found", "X-Y", "1")
		if err := rw.Finish(); err != nil {
			t.Error(err)
		}
		if !rw.Sent() {
			t.Error("Finish did not send the header")
		}
	}))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 404 || res.Header.Get("X-Y") != "1" || len(body) != 0 {
		t.Errorf("got %d %v %q", res.StatusCode, res.Header, body)
	}
}

// ---- Flush ----

func TestFlush(t *testing.T) {
	rw, rec := newWriter("GET")
	mustStart(t, rw, "200 OK", "Content-Type", "text/event-stream")
	if err := rw.Flush(); err != nil {
		t.Fatal(err)
	}
	if !rw.Sent() || !rec.Flushed || rec.Code != 200 {
		t.Errorf("Flush: sent %v, flushed %v, code %d", rw.Sent(), rec.Flushed, rec.Code)
	}

	// A ResponseWriter that cannot flush is not an error.
	rw.Reset(&discardRW{}, nil)
	mustStart(t, rw, "200 OK")
	if err := rw.Flush(); err != nil {
		t.Errorf("Flush on a non-flusher = %v, want nil", err)
	}

	// Over a real server the first block arrives before the second is
	// written.
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rw Writer
		rw.Reset(w, r)
		start(t, &rw, "200 OK", "Content-Type", "text/plain")
		rw.Write([]byte("first;"))
		if err := rw.Flush(); err != nil {
			t.Error(err)
		}
		select {
		case <-release:
		case <-time.After(5 * time.Second):
			t.Error("client never saw the flushed block")
		}
		rw.Write([]byte("second"))
		rw.Finish()
	}))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	first := make([]byte, len("first;"))
	if _, err := io.ReadFull(res.Body, first); err != nil || string(first) != "first;" {
		t.Fatalf("first block %q, %v", first, err)
	}
	close(release)
	rest, err := io.ReadAll(res.Body)
	if err != nil || string(rest) != "second" {
		t.Errorf("rest %q, %v", rest, err)
	}
}

// ---- client gone ----

func TestClientGone(t *testing.T) {
	boom := errors.New("broken pipe")
	ew := &errRW{after: 3, err: boom}
	var rw Writer
	rw.Reset(ew, nil)
	mustStart(t, &rw, "200 OK")
	n, err := rw.Write([]byte("hello"))
	if n != 3 || !errors.Is(err, ErrClientGone) || !errors.Is(err, boom) {
		t.Fatalf("Write = %d, %v; want 3 and an error wrapping ErrClientGone and the cause", n, err)
	}
	calls := ew.calls
	if n, err2 := rw.Write([]byte("again")); n != 0 || err2 != err {
		t.Errorf("second Write = %d, %v; want 0, %v", n, err2, err)
	}
	if err2 := rw.Flush(); err2 != err {
		t.Errorf("Flush = %v, want %v", err2, err)
	}
	if _, err2 := rw.SendFile(tempFile(t, "x")); err2 != err {
		t.Errorf("SendFile = %v, want %v", err2, err)
	}
	if err2 := rw.Finish(); err2 != err {
		t.Errorf("Finish = %v, want %v", err2, err)
	}
	if ew.calls != calls || ew.flushes != 0 {
		t.Errorf("the ResponseWriter was touched after the error: %d writes, %d flushes", ew.calls-calls, ew.flushes)
	}

	// A failing flush is a client error too.
	ew = &errRW{after: 100, flushErr: boom}
	rw.Reset(ew, nil)
	mustStart(t, &rw, "200 OK")
	if err := rw.Flush(); !errors.Is(err, ErrClientGone) || !errors.Is(err, boom) {
		t.Errorf("Flush = %v, want ErrClientGone wrapping the cause", err)
	}
	if _, err := rw.Write([]byte("x")); !errors.Is(err, ErrClientGone) || ew.calls != 0 {
		t.Errorf("Write after a failed flush = %v with %d calls", err, ew.calls)
	}
}

func TestClientGoneServer(t *testing.T) {
	result := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rw Writer
		rw.Reset(w, r)
		start(t, &rw, "200 OK", "Content-Type", "application/octet-stream")
		block := make([]byte, 64<<10)
		deadline := time.Now().Add(10 * time.Second)
		var err error
		for err == nil && time.Now().Before(deadline) {
			if _, err = rw.Write(block); err == nil {
				err = rw.Flush()
			}
		}
		if err != nil {
			if _, err2 := rw.Write(block); err2 != err {
				t.Errorf("Write after the error = %v, want %v", err2, err)
			}
		}
		result <- err
	}))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(res.Body, make([]byte, 1000))
	res.Body.Close() // closes the connection: the body was not read to the end
	err = <-result
	if !errors.Is(err, ErrClientGone) {
		t.Fatalf("handler's error = %v, want ErrClientGone", err)
	}
	if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Logf("cause: %v", err) // platform-dependent; informative only
	}
}

// ---- SendFile ----

func TestSendFile(t *testing.T) {
	data := strings.Repeat("0123456789", 1000)
	tests := []struct {
		name    string
		method  string
		offset  int64
		headers []Header
		set     int64
		written string // written with Write before SendFile
		wantN   int64
		want    string
		wantErr error
	}{
		{"to EOF", "GET", 0, nil, -1, "", 10000, data, nil},
		{"from offset", "GET", 9990, nil, -1, "", 10, data[9990:], nil},
		{"declared", "GET", 3, hdrs("Content-Length", "5"), -1, "", 5, data[3:8], nil},
		{"declared after write", "GET", 0, hdrs("Content-Length", "5"), -1, "ab", 3, "ab012", nil},
		{"declared full", "GET", 0, hdrs("Content-Length", "2"), -1, "ab", 0, "ab", nil},
		{"declared past EOF", "GET", 9990, hdrs("Content-Length", "20"), -1, "", 10, data[9990:], ErrShortBody},
		{"list length", "GET", 0, nil, 10000, "", 10000, data, nil},
		{"HEAD", "HEAD", 100, nil, -1, "", 9900, "", nil},
		{"HEAD declared", "HEAD", 100, hdrs("Content-Length", "50"), -1, "", 9900, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tempFile(t, data)
			f.Seek(tt.offset, io.SeekStart)
			rw, rec := newWriter(tt.method)
			if err := rw.Start("200 OK", tt.headers); err != nil {
				t.Fatal(err)
			}
			rw.SetLength(tt.set)
			rw.Write([]byte(tt.written))
			n, err := rw.SendFile(f)
			if n != tt.wantN || err != nil {
				t.Errorf("SendFile = %d, %v; want %d, nil", n, err, tt.wantN)
			}
			if err := rw.Finish(); err != tt.wantErr {
				t.Errorf("Finish = %v, want %v", err, tt.wantErr)
			}
			if rec.Body.String() != tt.want {
				t.Errorf("body = %.40q (%d bytes), want %.40q (%d bytes)", rec.Body, rec.Body.Len(), tt.want, len(tt.want))
			}
			if tt.method == "HEAD" {
				if off, _ := f.Seek(0, io.SeekCurrent); off != tt.offset {
					t.Errorf("HEAD moved the file offset to %d", off)
				}
			}
		})
	}
}

// TestSendFileReaderFrom checks that SendFile hands net/http the file
// itself (in an io.LimitedReader), which is what lets it use sendfile(2).
func TestSendFileReaderFrom(t *testing.T) {
	f := tempFile(t, "hello, world")
	rf := &readerFromRW{ResponseRecorder: httptest.NewRecorder()}
	var rw Writer
	rw.Reset(rf, nil)
	mustStart(t, &rw, "200 OK", "Content-Length", "5")
	if n, err := rw.SendFile(f); n != 5 || err != nil {
		t.Fatalf("SendFile = %d, %v", n, err)
	}
	lr, ok := rf.src.(*io.LimitedReader)
	if !ok || lr.R != f {
		t.Fatalf("ReadFrom got %T, want an *io.LimitedReader around the *os.File", rf.src)
	}
	if rf.Body.String() != "hello" {
		t.Errorf("body = %q", rf.Body)
	}
}

func TestSendFileReadError(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Open(dir) // reading a directory fails
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rw, _ := newWriter("GET")
	mustStart(t, rw, "200 OK")
	_, err = rw.SendFile(f)
	var pe *os.PathError
	if err == nil || errors.Is(err, ErrClientGone) || !errors.As(err, &pe) {
		t.Fatalf("SendFile(directory) = %v, want a read error that is not ErrClientGone", err)
	}
	if _, err2 := rw.Write([]byte("x")); err2 != err {
		t.Errorf("Write after a read error = %v, want %v", err2, err)
	}
}

func TestSendFileServer(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz"), 40000) // ~1 MB
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		offset int64
		cl     string // app's Content-Length, or ""
		set    int64  // SetLength, or -1
		want   []byte
	}{
		{"declared", 10, "500000", -1, data[10:500010]},
		{"list length", 0, "", int64(len(data)), data},
		{"chunked to EOF", 1000, "", -1, data[1000:]},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f, err := os.Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			f.Seek(tt.offset, io.SeekStart)
			var rw Writer
			rw.Reset(w, r)
			h := []string{"Content-Type", "application/octet-stream"}
			if tt.cl != "" {
				h = append(h, "Content-Length", tt.cl)
			}
			start(t, &rw, "200 OK", h...)
			rw.SetLength(tt.set)
			if n, err := rw.SendFile(f); err != nil || n != int64(len(tt.want)) {
				t.Errorf("%s: SendFile = %d, %v; want %d", tt.name, n, err, len(tt.want))
			}
			if err := rw.Finish(); err != nil {
				t.Errorf("%s: Finish = %v", tt.name, err)
			}
		}))
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || !bytes.Equal(body, tt.want) {
			t.Errorf("%s: got %d bytes, %v; want %d bytes", tt.name, len(body), err, len(tt.want))
		}
		srv.Close()
	}
}

// ---- Error500 ----

func TestError500(t *testing.T) {
	for _, method := range []string{"GET", "HEAD"} {
		rw, rec := newWriter(method)
		mustStart(t, rw, "200 OK", "Content-Type", "text/html", "X-App", "1", "Content-Length", "100")
		if !rw.Error500() {
			t.Fatalf("%s: Error500 = false before anything was sent", method)
		}
		res := rec.Result()
		wantBody := "Internal Server Error\n"
		if method == "HEAD" {
			wantBody = ""
		}
		if res.StatusCode != 500 || res.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
			res.Header.Get("X-App") != "" || res.Header.Get("Content-Length") != "22" || rec.Body.String() != wantBody {
			t.Errorf("%s: got %d %v %q", method, res.StatusCode, res.Header, rec.Body)
		}
		if !rw.Sent() {
			t.Errorf("%s: Sent() = false after Error500", method)
		}
		if rw.Error500() {
			t.Errorf("%s: second Error500 = true", method)
		}
		if _, err := rw.Write([]byte("late")); err != nil || rec.Body.String() != wantBody {
			t.Errorf("%s: a late Write reached the client: %v %q", method, err, rec.Body)
		}
		if err := rw.Finish(); err != nil {
			t.Errorf("%s: Finish after Error500 = %v", method, err)
		}
	}

	// Without Start (the app raised before start_response).
	rw, rec := newWriter("GET")
	if !rw.Error500() || rec.Code != 500 {
		t.Errorf("Error500 before Start: code %d", rec.Code)
	}

	// Too late once the header is out.
	rw, rec = newWriter("GET")
	mustStart(t, rw, "200 OK")
	mustWrite(t, rw, "partial")
	if rw.Error500() {
		t.Errorf("Error500 = true after the header was sent")
	}
	if rec.Code != 200 || rec.Body.String() != "partial" {
		t.Errorf("Error500 changed a sent response: %d %q", rec.Code, rec.Body)
	}
}

func TestError(t *testing.T) {
	for _, tc := range []struct {
		method string
		code   int
		body   string
	}{
		{"GET", 400, "Bad Request\n"},
		{"HEAD", 400, ""},
		{"GET", 500, "Internal Server Error\n"},
		{"GET", 503, "Service Unavailable\n"},
	} {
		rw, rec := newWriter(tc.method)
		mustStart(t, rw, "200 OK", "Content-Type", "text/html", "Content-Length", "100")
		if !rw.Error(tc.code) {
			t.Fatalf("%s %d: Error = false before anything was sent", tc.method, tc.code)
		}
		res := rec.Result()
		wantLen := strconv.Itoa(len(http.StatusText(tc.code)) + 1)
		if res.StatusCode != tc.code || res.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
			res.Header.Get("Content-Length") != wantLen || rec.Body.String() != tc.body {
			t.Errorf("%s %d: got %d %v %q", tc.method, tc.code, res.StatusCode, res.Header, rec.Body)
		}
		if rw.Error(tc.code) || rw.Finish() != nil {
			t.Errorf("%s %d: a second Error, or Finish, did not see the response as complete", tc.method, tc.code)
		}
	}
}

// ---- Reset ----

func TestReset(t *testing.T) {
	var rw Writer
	// Leave as much state behind as possible.
	ew := &errRW{after: 2, err: errors.New("gone")}
	rw.Reset(ew, httptest.NewRequest("HEAD", "/", nil))
	mustStart(t, &rw, "304 Not Modified", "Content-Length", "9", "X-Old", "1", "Content-Type", "text/old")
	rw.SetLength(7)
	rw.Write([]byte("abc"))
	rw.Finish()
	rw.Reset(ew, httptest.NewRequest("GET", "/", nil))
	mustStart(t, &rw, "200 OK")
	rw.Write([]byte("abc")) // 2 bytes, then the error
	if rw.err == nil {
		t.Fatal("setup: no sticky error")
	}

	rec := httptest.NewRecorder()
	rw.Reset(rec, httptest.NewRequest("GET", "/", nil))
	if rw.Started() || rw.Sent() {
		t.Errorf("after Reset: Started %v, Sent %v", rw.Started(), rw.Sent())
	}
	if err := rw.Finish(); err != ErrNotStarted {
		t.Errorf("Finish after Reset = %v, want ErrNotStarted", err)
	}
	mustStart(t, &rw, "201 Created")
	mustWrite(t, &rw, "fresh body")
	if err := rw.Finish(); err != nil {
		t.Fatalf("Finish = %v", err)
	}
	want := http.Header{"Content-Type": nil}
	if rec.Code != 201 || rec.Body.String() != "fresh body" || !reflect.DeepEqual(rec.Header(), want) {
		t.Errorf("state carried over: %d %q %q", rec.Code, rec.Body, rec.Header())
	}

	// Reset(nil, nil) drops references.
	rw.Reset(nil, nil)
	if rw.w != nil || len(rw.headers) != 0 {
		t.Errorf("Reset(nil, nil) kept references")
	}
	for _, h := range rw.headers[:cap(rw.headers)] {
		if h != (Header{}) {
			t.Errorf("Reset kept header %q in the reused slice", h)
		}
	}

	// A huge header list is not kept for the pool.
	big := make([]Header, maxKeptHeaders+1)
	for i := range big {
		big[i] = Header{"X-N", "1"}
	}
	rw.Reset(rec, nil)
	if err := rw.Start("200 OK", big); err != nil {
		t.Fatal(err)
	}
	rw.Reset(nil, nil)
	if cap(rw.headers) > maxKeptHeaders {
		t.Errorf("Reset kept a header slice of capacity %d", cap(rw.headers))
	}
}

// ---- allocations ----

func hello(rw *Writer, d *discardRW, h []Header, body []byte) error {
	d.reset()
	rw.Reset(d, nil)
	if err := rw.Start("200 OK", h); err != nil {
		return err
	}
	if _, err := rw.Write(body); err != nil {
		return err
	}
	return rw.Finish()
}

var (
	helloHeaders = []Header{{"Content-Type", "text/plain"}, {"Content-Length", "13"}}
	helloBody    = []byte("Hello, World!")
)

func TestHelloAllocs(t *testing.T) {
	var rw Writer
	d := &discardRW{}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := hello(&rw, d, helloHeaders, helloBody); err != nil {
			t.Fatal(err)
		}
	})
	if d.n != 13 || d.code != 200 {
		t.Fatalf("discardRW saw %d bytes, code %d", d.n, d.code)
	}
	if allocs > 1 {
		t.Errorf("hello response: %v allocations, want at most 1", allocs)
	}
}

func BenchmarkWriterHello(b *testing.B) {
	var rw Writer
	d := &discardRW{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := hello(&rw, d, helloHeaders, helloBody); err != nil {
			b.Fatal(err)
		}
	}
}

// ---- helpers ----

// discardRW is a reusable ResponseWriter that discards the body. It does
// not implement http.Flusher.
type discardRW struct {
	h    http.Header
	code int
	n    int
}

func (d *discardRW) reset() {
	if d.h == nil {
		d.h = make(http.Header)
	}
	clear(d.h)
	d.code, d.n = 0, 0
}

func (d *discardRW) Header() http.Header {
	if d.h == nil {
		d.h = make(http.Header)
	}
	return d.h
}
func (d *discardRW) WriteHeader(code int)        { d.code = code }
func (d *discardRW) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// errRW fails every write once after bytes have been written.
type errRW struct {
	h        http.Header
	after    int
	err      error
	flushErr error
	written  int
	calls    int
	flushes  int
}

func (e *errRW) Header() http.Header {
	if e.h == nil {
		e.h = make(http.Header)
	}
	return e.h
}
func (e *errRW) WriteHeader(int) {}
func (e *errRW) Write(p []byte) (int, error) {
	e.calls++
	if e.written+len(p) <= e.after {
		e.written += len(p)
		return len(p), nil
	}
	n := e.after - e.written
	e.written = e.after
	return n, e.err
}
func (e *errRW) FlushError() error { e.flushes++; return e.flushErr }

// readerFromRW records what io.Copy hands to ReadFrom.
type readerFromRW struct {
	*httptest.ResponseRecorder
	src io.Reader
}

func (r *readerFromRW) ReadFrom(src io.Reader) (int64, error) {
	r.src = src
	return io.Copy(r.ResponseRecorder, struct{ io.Reader }{src})
}

func tempFile(t *testing.T, content string) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "body")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	return f
}

// rawHTTP sends req on a new connection to srv and returns everything the
// server sends until it closes the connection.
func rawHTTP(t *testing.T, srv *httptest.Server, req string) string {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("reading the response: %v (got %q)", err, b)
	}
	return string(b)
}

// pipeline sends n requests on one keep-alive connection and returns the
// bodies; it fails if the responses do not frame cleanly.
func pipeline(t *testing.T, srv *httptest.Server, method string, n int) []string {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	var bodies []string
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest(method, "http://x/", nil)
		if err := req.Write(conn); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("response %d body: %v", i, err)
		}
		if res.Close {
			t.Fatalf("response %d closes the connection", i)
		}
		bodies = append(bodies, string(body))
	}
	// Nothing may follow the last response.
	conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if b, err := br.ReadByte(); err == nil {
		t.Errorf("byte %q after the last response", b)
	}
	return bodies
}
