package wsgi_test

// Shared set-up of the package's tests, which drive real apps end to end
// (each file is named for what it covers: environ, input, response,
// startresponse, stream, lifecycle, threads, frameworks, ...): one Python
// interpreter for the whole test binary (TestMain stops it), apps loaded
// from testdata/, real HTTP servers from httptest, a ResponseWriter
// without a connection for calling ServeHTTP directly, and a log recorder
// standing in for the handler's *slog.Logger.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

// testdataDir is the absolute path of testdata/, put on sys.path of every
// test app.
var testdataDir string

// testProcesses, from $GOWSGI_TEST_PROCESSES, runs every app the tests
// load in that many worker processes (wsgi.WithProcesses): the end-to-end
// suite then checks that mode (scripts/test.sh runs it both ways).
var testProcesses, _ = strconv.Atoi(os.Getenv("GOWSGI_TEST_PROCESSES"))

// inProcessOnly skips a test that looks into this process's interpreter,
// which worker processes do not use.
func inProcessOnly(t testing.TB) {
	t.Helper()
	if testProcesses > 0 {
		t.Skip("looks into this process's interpreter: not with GOWSGI_TEST_PROCESSES")
	}
}

func TestMain(m *testing.M) {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	testdataDir = dir
	code := m.Run()
	// Python is one interpreter per process: stop it once, after every test.
	// The test apps import threading on request threads, which once made
	// finalization wait forever: a watchdog turns a hang into a failure.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	done := make(chan error, 1)
	go func() { done <- wsgi.Shutdown(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: wsgi.Shutdown:", err)
			code = max(code, 1)
		} else if _, err := wsgi.New("hello:app", wsgi.WithPythonPath(testdataDir)); !errors.Is(err, wsgi.ErrStopped) {
			// After Shutdown, New says why it cannot start Python again.
			fmt.Fprintln(os.Stderr, "FAIL: wsgi.New after Shutdown:", err, "- want wsgi.ErrStopped")
			code = max(code, 1)
		}
	case <-time.After(60 * time.Second):
		fmt.Fprintln(os.Stderr, "FAIL: wsgi.Shutdown did not return within 60 s (Python finalization hangs)")
		code = max(code, 1)
	}
	cancel()
	os.Exit(code)
}

// ---- a ResponseWriter without a connection ----

// fakeWriter is an http.ResponseWriter (and http.Flusher) without a
// connection, for calling App.ServeHTTP directly: it keeps the status,
// counts the body and keeps its first 64 bytes, and is reusable (reset).
// brokenAt makes it a client that goes away: a Write that would take the
// body past brokenAt bytes fails. panicAfter makes it middleware that
// panics: every Write after the first panicAfter panics with errMiddleware
// (Go code that the C side reaches through a callback).
type fakeWriter struct {
	h      http.Header
	status int
	n      int64
	head   []byte

	brokenAt   int64 // > 0: a Write past this many body bytes fails
	panicAfter int   // > 0: the Writes after this many panic
	writes     int
}

// errMiddleware is what a fakeWriter with panicAfter panics with.
var errMiddleware = errors.New("middleware panic")

func newFakeWriter() *fakeWriter { return &fakeWriter{h: make(http.Header, 4)} }

func (w *fakeWriter) reset() {
	clear(w.h)
	w.status, w.n, w.head, w.writes = 0, 0, w.head[:0], 0
}

func (w *fakeWriter) Header() http.Header { return w.h }

func (w *fakeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *fakeWriter) Write(p []byte) (int, error) {
	if w.writes++; w.panicAfter > 0 && w.writes > w.panicAfter {
		panic(errMiddleware)
	}
	if w.brokenAt > 0 && w.n+int64(len(p)) > w.brokenAt {
		return 0, errors.New("write: broken pipe")
	}
	if w.status == 0 {
		w.status = 200
	}
	if len(w.head) < 64 {
		w.head = append(w.head, p[:min(len(p), 64-len(w.head))]...)
	}
	w.n += int64(len(p))
	return len(p), nil
}

func (w *fakeWriter) Flush() {}

// ---- log recorder ----

// logRecord is one record logged through a recorder, attributes flattened
// to strings (unquoted, so tracebacks keep their newlines).
type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

func (r logRecord) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", r.Level, r.Msg)
	for k, v := range r.Attrs {
		fmt.Fprintf(&b, " %s=%q", k, v)
	}
	return b.String()
}

// recorder is a slog.Handler keeping every record in memory.
type recorder struct {
	mu    *sync.Mutex
	recs  *[]logRecord
	attrs []slog.Attr
}

func newRecorder() *recorder { return &recorder{mu: new(sync.Mutex), recs: new([]logRecord)} }

func (h *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{Level: r.Level, Msg: r.Message, Attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.Attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	*h.recs = append(*h.recs, rec)
	h.mu.Unlock()
	return nil
}

func (h *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{mu: h.mu, recs: h.recs, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *recorder) WithGroup(string) slog.Handler { return h }

// Records returns a copy of what was logged so far.
func (h *recorder) Records() []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]logRecord{}, *h.recs...)
}

// Text is every record, one a line, for searching and for failure messages.
func (h *recorder) Text() string {
	var b strings.Builder
	for _, r := range h.Records() {
		b.WriteString(r.String())
		b.WriteByte('\n')
		for _, v := range r.Attrs {
			// Raw attribute values too, so multi-line tracebacks can be
			// searched as Python printed them.
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// waitLog waits up to 5 s for a record whose text contains all of subs:
// the handler may log after the client has its response.
func (h *recorder) waitLog(t *testing.T, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, r := range h.Records() {
			text := r.Msg
			for _, v := range r.Attrs {
				text += "\n" + v
			}
			ok := true
			for _, s := range subs {
				if !strings.Contains(text, s) {
					ok = false
					break
				}
			}
			if ok {
				return text
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("no log record contains all of %q; the log:\n%s", subs, h.Text())
			return ""
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- apps and servers ----

// loadApp loads spec from testdata/ with a recording logger; the app is
// closed when the test ends.
func loadApp(t testing.TB, spec string, opts ...wsgi.Option) (*wsgi.App, *recorder) {
	t.Helper()
	rec := newRecorder()
	all := []wsgi.Option{wsgi.WithPythonPath(testdataDir), wsgi.WithLogger(slog.New(rec))}
	if testProcesses > 0 {
		all = append(all, wsgi.WithProcesses(testProcesses))
	}
	all = append(all, opts...)
	app, err := wsgi.New(spec, all...)
	if err != nil {
		t.Fatalf("wsgi.New(%q): %v", spec, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.Close(ctx); err != nil {
			t.Errorf("Close(%s): %v", app, err)
		}
	})
	return app, rec
}

// serve starts a real HTTP server for h, stopped when the test ends
// (before the app is closed: cleanups run last-registered first).
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// rawServer serves the raw test app (testdata/rawapp.py).
func rawServer(t testing.TB, opts ...wsgi.Option) (*httptest.Server, *recorder) {
	t.Helper()
	app, rec := loadApp(t, "rawapp:app", opts...)
	return serve(t, app), rec
}

// validatedServer serves the raw test app wrapped in wsgiref.validate.
// When the test ends it fails the test on any problem the validator could
// only record (a body iterator never closed).
func validatedServer(t testing.TB, opts ...wsgi.Option) (*httptest.Server, *recorder) {
	t.Helper()
	app, rec := loadApp(t, "validated:app", opts...)
	srv := serve(t, app)
	t.Cleanup(func() { checkValidator(t, srv.URL) })
	return srv, rec
}

// checkValidator fails t if wsgiref.validate recorded a problem it could
// not raise.
func checkValidator(t testing.TB, base string) {
	t.Helper()
	var problems []string
	getJSON(t, base+"/_validator_problems", &problems)
	for _, p := range problems {
		t.Errorf("wsgiref.validate: %s", p)
	}
}

// client is for requests that must not hang a failing test.
var client = &http.Client{Timeout: 20 * time.Second}

// do sends req and returns the response with its whole body read.
func do(t testing.TB, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v (got %q)", req.Method, req.URL, err, body)
	}
	return resp, body
}

func get(t testing.TB, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, client, req)
}

// getJSON GETs url, wants 200, and decodes the body into v.
func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, body := get(t, url)
	decodeJSON(t, resp, body, v)
}

func decodeJSON(t testing.TB, resp *http.Response, body []byte, v any) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %s, want 200; body:\n%s", resp.Request.Method, resp.Request.URL, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s %s: bad JSON %q: %v", resp.Request.Method, resp.Request.URL, body, err)
	}
}

// envVar is one environ entry as rawapp's /environ route describes it.
type envVar struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
	Repr  string `json:"repr"`
}

type environ map[string]envVar

// str returns the value of a str entry, failing the test for any other type.
func (e environ) str(t testing.TB, key string) string {
	t.Helper()
	v, ok := e[key]
	if !ok {
		t.Errorf("environ has no %s", key)
		return ""
	}
	if v.Type != "str" {
		t.Errorf("environ[%s] is %s %v, want str", key, v.Type, v.Value)
		return ""
	}
	s, _ := v.Value.(string)
	return s
}

func (e environ) wantStr(t testing.TB, key, want string) {
	t.Helper()
	if got := e.str(t, key); got != want {
		if _, ok := e[key]; ok {
			t.Errorf("environ[%s] = %q, want %q", key, got, want)
		}
	}
}

func (e environ) wantAbsent(t testing.TB, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v, ok := e[k]; ok {
			t.Errorf("environ has %s = %v, want no such key", k, v.Value)
		}
	}
}

func (e environ) wantBool(t testing.TB, key string, want bool) {
	t.Helper()
	v, ok := e[key]
	switch {
	case !ok:
		t.Errorf("environ has no %s", key)
	case v.Type != "bool":
		t.Errorf("environ[%s] is %s %v, want bool", key, v.Type, v.Value)
	case v.Value != want:
		t.Errorf("environ[%s] = %v, want %v", key, v.Value, want)
	}
}

// getEnviron fetches the environ the app sees for url.
func getEnviron(t testing.TB, c *http.Client, req *http.Request) environ {
	t.Helper()
	resp, body := do(t, c, req)
	var e environ
	decodeJSON(t, resp, body, &e)
	return e
}

// ---- raw HTTP ----

// rawConn dials addr ("127.0.0.1:port" or a URL of an httptest server).
func rawConn(t testing.TB, addr string) net.Conn {
	t.Helper()
	addr = strings.TrimPrefix(addr, "http://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return conn
}

// rawRoundTrip sends request bytes exactly as given (Go's client would
// clean or normalise them) and returns the parsed response, body read.
func rawRoundTrip(t testing.TB, addr, request string) (*http.Response, []byte) {
	t.Helper()
	conn := rawConn(t, addr)
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	method, _, _ := strings.Cut(request, " ")
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response to %q: %v", request, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of the response to %q: %v (got %q)", request, err, body)
	}
	return resp, body
}

// readRawResponse reads one response from conn.
func readRawResponse(t testing.TB, conn net.Conn, method string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading a response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading a response body: %v (got %q)", err, body)
	}
	return resp, body
}

// rawExchange sends request and returns every byte the server sends until
// it closes the connection (send "Connection: close").
func rawExchange(t testing.TB, addr, request string) string {
	t.Helper()
	conn := rawConn(t, addr)
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("reading the response to %q: %v (got %q)", request, err, all)
	}
	return string(all)
}

// splitRaw splits a raw HTTP/1.1 response into its header block and body.
func splitRaw(t testing.TB, raw string) (head, body string) {
	t.Helper()
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		t.Fatalf("no end of headers in %q", raw)
	}
	return head, body
}

// hostOf is the host:port of an httptest server.
func hostOf(srv *httptest.Server) string { return srv.Listener.Addr().String() }
