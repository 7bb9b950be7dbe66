package wsgi_test

// Micro-benchmarks of the whole request path in process, without a network:
// environ building, slot, GIL, the app call, the body blocks and the
// response writer, through App.ServeHTTP. They load the apps of the
// benchmark suite (bench/apps), so a regression in the cost per request,
// in allocations or in the number of cgo crossings shows up without
// running wrk:
//
//	go test -run '^$' -bench . -benchmem
//
// Metrics beyond ns/op, B/op and allocs/op:
//   - cgocalls/op: Go→C calls per request (runtime.NumCgoCall); C→Go
//     callbacks are not counted.
//   - ns/block, cgocalls/block: a streamed request divided by its 100 blocks.
//
// The interpreter is stopped by TestMain (wsgi_test.go), as for the tests.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gowsgi/wsgi"
)

// benchBody is a request body that can be rewound without allocating.
type benchBody struct{ bytes.Reader }

func (*benchBody) Close() error { return nil }

var (
	benchAppsMu sync.Mutex
	benchApps   = map[string]*wsgi.App{}
)

// benchApp loads spec from bench/apps once per test binary (every App
// stays open until TestMain's Shutdown).
func benchApp(b *testing.B, spec string, opts ...wsgi.Option) *wsgi.App {
	return benchAppAs(b, spec, spec, opts...)
}

// benchAppAs is benchApp for an app loaded with options of its own, kept
// under key.
func benchAppAs(b *testing.B, key, spec string, opts ...wsgi.Option) *wsgi.App {
	b.Helper()
	benchAppsMu.Lock()
	defer benchAppsMu.Unlock()
	if a, ok := benchApps[key]; ok {
		return a
	}
	dir, err := filepath.Abs(filepath.Join("bench", "apps"))
	if err != nil {
		b.Fatal(err)
	}
	a, err := wsgi.New(spec, append([]wsgi.Option{wsgi.WithPythonPath(dir)}, opts...)...)
	if err != nil {
		if strings.Contains(err.Error(), "No module named 'flask'") {
			b.Skip("Flask is not installed for the linked Python (Debian: apt-get install python3-flask)")
		}
		b.Fatal(err)
	}
	benchApps[key] = a
	return a
}

func benchRequest(method, target string, body *benchBody, size int) *http.Request {
	r, _ := http.NewRequest(method, "http://127.0.0.1:8000"+target, nil)
	r.RequestURI = target
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header = http.Header{
		"User-Agent":      {"wrk"},
		"Accept":          {"*/*"},
		"Accept-Encoding": {"gzip, deflate"},
	}
	if body != nil {
		r.Body = body
		r.ContentLength = int64(size)
		r.Header["Content-Type"] = []string{"application/octet-stream"}
		r.Header["Content-Length"] = []string{itoa(size)}
	}
	return r
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// benchServe runs the app for b.N requests, reports cgocalls/op and
// returns it. prepare, if not nil, runs before each request, inside the
// timed loop: keep it cheap.
func benchServe(b *testing.B, app *wsgi.App, r *http.Request, prepare func(), check func(w *fakeWriter) error) float64 {
	w := newFakeWriter()
	// One checked request first: a benchmark of a wrong answer is worthless.
	if prepare != nil {
		prepare()
	}
	app.ServeHTTP(w, r)
	if err := check(w); err != nil {
		b.Fatalf("wrong response: %v (status %d, %d bytes, starts %q)", err, w.status, w.n, w.head)
	}
	b.ReportAllocs()
	b.ResetTimer()
	calls := runtime.NumCgoCall()
	for i := 0; i < b.N; i++ {
		if prepare != nil {
			prepare()
		}
		w.reset()
		app.ServeHTTP(w, r)
	}
	calls = runtime.NumCgoCall() - calls
	b.StopTimer()
	if err := check(w); err != nil {
		b.Fatalf("wrong response at the end: %v", err)
	}
	perOp := float64(calls) / float64(b.N)
	b.ReportMetric(perOp, "cgocalls/op")
	return perOp
}

func wantBody(status int, n int64, prefix string) func(w *fakeWriter) error {
	return func(w *fakeWriter) error {
		switch {
		case w.status != status:
			return fmt.Errorf("status %d, want %d", w.status, status)
		case w.n != n:
			return fmt.Errorf("%d body bytes, want %d", w.n, n)
		case !strings.HasPrefix(string(w.head), prefix[:min(len(prefix), 64)]):
			return fmt.Errorf("body starts %q, want %q", w.head, prefix)
		}
		return nil
	}
}

// BenchmarkServeHTTPHello is one plain WSGI hello request (13 bytes, a
// one-item list) through ServeHTTP.
func BenchmarkServeHTTPHello(b *testing.B) {
	app := benchApp(b, "hello:app")
	benchServe(b, app, benchRequest("GET", "/", nil, 0), nil, wantBody(200, 13, "Hello, World!"))
}

// BenchmarkServeHTTPHelloTimeout is BenchmarkServeHTTPHello with a
// request timeout (the CLI's default --timeout 30) on a request whose
// context can be cancelled, as net/http's is: its difference from the
// plain one is what watching the deadline costs.
func BenchmarkServeHTTPHelloTimeout(b *testing.B) {
	app := benchAppAs(b, "hello:app timeout", "hello:app", wsgi.WithTimeout(30*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := benchRequest("GET", "/", nil, 0).WithContext(ctx)
	benchServe(b, app, r, nil, wantBody(200, 13, "Hello, World!"))
}

// BenchmarkServeHTTPHelloObserved is BenchmarkServeHTTPHello with the
// accounting on: an access function that does nothing, and the App
// registered as a prometheus.Collector. Its difference from the plain one
// is the cost of the ResponseWriter that counts, the clock and the
// metrics; the plain one pays none of it.
func BenchmarkServeHTTPHelloObserved(b *testing.B) {
	app := benchAppAs(b, "hello:app observed", "hello:app", wsgi.WithAccessFunc(func(*wsgi.Access) {}))
	if err := prometheus.NewRegistry().Register(app); err != nil {
		b.Fatal(err)
	}
	benchServe(b, app, benchRequest("GET", "/", nil, 0), nil, wantBody(200, 13, "Hello, World!"))
}

// BenchmarkServeHTTPHelloParallel is the same request from GOMAXPROCS
// goroutines at once: the slots, the GIL hand-offs and thread pinning
// under contention.
func BenchmarkServeHTTPHelloParallel(b *testing.B) {
	app := benchApp(b, "hello:app")
	b.ReportAllocs()
	calls := runtime.NumCgoCall()
	helloParallel(b, app)
	b.ReportMetric(float64(runtime.NumCgoCall()-calls)/float64(b.N), "cgocalls/op")
}

// helloParallel sends the hello request to app from GOMAXPROCS goroutines
// for b.N requests in all, checking the last answer of each.
func helloParallel(b *testing.B, app *wsgi.App) {
	b.RunParallel(func(pb *testing.PB) {
		r := benchRequest("GET", "/", nil, 0)
		w := newFakeWriter()
		n := 0
		for pb.Next() {
			w.reset()
			app.ServeHTTP(w, r)
			n++
		}
		if n > 0 && (w.status != 200 || w.n != 13) {
			b.Errorf("wrong response: status %d, %d bytes", w.status, w.n)
		}
	})
}

// BenchmarkServeHTTPStream is the streamed workload: a generator of 100
// blocks of 10 KB, no Content-Length, each block flushed. ns/block is the
// cost of fetching and writing one block.
func BenchmarkServeHTTPStream(b *testing.B) {
	const blocks, size = 100, 10240
	app := benchApp(b, "stream:app")
	b.SetBytes(blocks * size)
	calls := benchServe(b, app, benchRequest("GET", "/", nil, 0), nil, wantBody(200, blocks*size, "xxxxxxxx"))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/blocks, "ns/block")
	b.ReportMetric(calls/blocks, "cgocalls/block")
}

// BenchmarkServeHTTPEcho is the POST echo workload: a 64 KiB body,
// pre-read by the handler, read by the app from wsgi.input and sent back.
func BenchmarkServeHTTPEcho(b *testing.B) {
	const size = 64 << 10
	app := benchApp(b, "echo:app")
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	body := &benchBody{}
	r := benchRequest("POST", "/", body, size)
	b.SetBytes(size)
	benchServe(b, app, r, func() { body.Reset(data) }, wantBody(200, size, "0123456789abcdef"))
}

// BenchmarkServeHTTPFlaskHello is Flask's hello: the framework's own cost
// dominates; the difference to BenchmarkServeHTTPHello is what gowsgi
// cannot save.
func BenchmarkServeHTTPFlaskHello(b *testing.B) {
	app := benchApp(b, "flask_hello:app")
	benchServe(b, app, benchRequest("GET", "/", nil, 0), nil, wantBody(200, 13, "Hello, World!"))
}

// BenchmarkServeHTTPHelloProcesses is BenchmarkServeHTTPHello with the
// app in a worker process (WithProcesses(1)): the difference is what
// dispatching to a worker costs a request, on this side and the worker's
// (the benchmark's ns/op is the whole round trip).
func BenchmarkServeHTTPHelloProcesses(b *testing.B) {
	app := benchAppAs(b, "hello:app/procs1", "hello:app", wsgi.WithProcesses(1))
	benchServe(b, app, benchRequest("GET", "/", nil, 0), nil, wantBody(200, 13, "Hello, World!"))
}

// BenchmarkServeHTTPHelloProcessesParallel is the parallel hello through
// two worker processes.
func BenchmarkServeHTTPHelloProcessesParallel(b *testing.B) {
	app := benchAppAs(b, "hello:app/procs2", "hello:app", wsgi.WithProcesses(2))
	b.ReportAllocs()
	helloParallel(b, app)
}

// BenchmarkServeHTTPEchoProcesses is the echo workload through a worker
// process: the 64 KiB body goes in the request's frame, and back.
func BenchmarkServeHTTPEchoProcesses(b *testing.B) {
	const size = 64 << 10
	app := benchAppAs(b, "echo:app/procs1", "echo:app", wsgi.WithProcesses(1))
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	body := &benchBody{}
	r := benchRequest("POST", "/", body, size)
	b.SetBytes(size)
	benchServe(b, app, r, func() { body.Reset(data) }, wantBody(200, size, "0123456789abcdef"))
}

var _ io.ReadCloser = (*benchBody)(nil)
