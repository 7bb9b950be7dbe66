package wsgi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gowsgi/wsgi"
)

// accessLog keeps a copy of every Access an App reports, by the request's
// X-Case header.
type accessLog struct {
	mu   sync.Mutex
	seen map[string]wsgi.Access
}

func newAccessLog() *accessLog { return &accessLog{seen: map[string]wsgi.Access{}} }

func (l *accessLog) record(e *wsgi.Access) {
	c := *e
	c.Header = e.Header.Clone()
	addr := e.RemoteAddr()
	c.Request = e.Request.Clone(context.Background())
	c.Request.RemoteAddr = addr // what RemoteAddr said, for the test
	l.mu.Lock()
	l.seen[e.Request.Header.Get("X-Case")] = c
	l.mu.Unlock()
}

// wait returns the Access of case name: the App reports it once the
// response is done, which may be after the client has it.
func (l *accessLog) wait(t *testing.T, name string) wsgi.Access {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		e, ok := l.seen[name]
		l.mu.Unlock()
		if ok {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access record for %s", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// accessCase is one request and what the access record must say of it.
type accessCase struct {
	name    string
	method  string
	path    string
	body    string
	header  map[string]string
	status  int
	bytes   int64 // -1: what the client got
	aborted bool
	outHdr  map[string]string // response headers the record must carry
}

func accessCases(t *testing.T) []accessCase {
	file := filepath.Join(t.TempDir(), "f.bin")
	if err := os.WriteFile(file, bytes.Repeat([]byte("x"), 50000), 0o644); err != nil {
		t.Fatal(err)
	}
	many := map[string]string{}
	for i := 0; i < 101; i++ {
		many["X-Many-"+strconv.Itoa(i)] = "v"
	}
	return []accessCase{
		{name: "list", method: "GET", path: "/head", status: 200, bytes: 100,
			outHdr: map[string]string{"Content-Length": "100"}},
		{name: "head", method: "HEAD", path: "/head", status: 200, bytes: 0},
		{name: "custom header", method: "GET", path: "/no_ctype", status: 200, bytes: 28,
			header: map[string]string{"User-Agent": "access-test/1", "Referer": "http://ref.example/"},
			outHdr: map[string]string{"X-Custom": "1"}},
		{name: "app error", method: "GET", path: "/uncaught", status: 500, bytes: int64(len("Internal Server Error\n"))},
		{name: "generator", method: "GET", path: "/stream?delay=0", status: 200, bytes: 21},
		{name: "cut at length", method: "GET", path: "/cl_smaller", status: 200, bytes: 5},
		{name: "short body", method: "GET", path: "/cl_larger", status: 200, bytes: 10, aborted: true},
		{name: "error after write", method: "GET", path: "/exc_after_write?id=access", status: 200, bytes: 8, aborted: true},
		{name: "file", method: "GET", path: "/file?path=" + url.QueryEscape(file), status: 200, bytes: 50000},
		{name: "body cap", method: "POST", path: "/input", body: strings.Repeat("b", 100), status: 413,
			bytes: int64(len("Content Too Large: the body is larger than 10 bytes\n"))},
		{name: "fields limit", method: "GET", path: "/head", header: many, status: 431,
			bytes: -1},
		{name: "timeout", method: "GET", path: "/spin", status: 504, bytes: int64(len("Gateway Timeout\n"))},
	}
}

// TestAccessFunc checks the status and bytes an access function is told
// for responses of every kind: the app's, gowsgi's own (500, 413, 431,
// 504), and cut-off ones.
func TestAccessFunc(t *testing.T) {
	log := newAccessLog()
	srv, _ := rawServer(t, wsgi.WithAccessFunc(log.record), wsgi.WithMaxRequestBody(10),
		wsgi.WithTimeout(time.Second))
	for _, tc := range accessCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if body != nil {
				req, err = http.NewRequest(tc.method, srv.URL+tc.path, body)
			}
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Case", tc.name)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			var got []byte
			resp, err := client.Do(req)
			if err == nil {
				got, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil && tc.bytes < 0 {
				tc.bytes = int64(len(got))
			}
			e := log.wait(t, tc.name)
			if e.Status != tc.status || e.Bytes != tc.bytes || e.Aborted != tc.aborted {
				t.Errorf("status %d, bytes %d, aborted %v; want %d, %d, %v", e.Status, e.Bytes, e.Aborted,
					tc.status, tc.bytes, tc.aborted)
			}
			if resp != nil && !tc.aborted && resp.StatusCode != e.Status {
				t.Errorf("the client got %d, the record says %d", resp.StatusCode, e.Status)
			}
			for k, v := range tc.outHdr {
				if got := e.Header.Get(k); got != v {
					t.Errorf("response header %s = %q in the record, want %q", k, got, v)
				}
			}
			if e.Request.Method != tc.method || e.Request.RemoteAddr != "127.0.0.1" || e.Duration <= 0 || e.Start.IsZero() {
				t.Errorf("method %q, remote %q, duration %v, start %v", e.Request.Method, e.Request.RemoteAddr, e.Duration, e.Start)
			}
		})
	}
}

// TestAccessLog checks WithAccessLog's record: one a request, with its
// fields.
func TestAccessLog(t *testing.T) {
	rec := newRecorder()
	srv, _ := rawServer(t, wsgi.WithAccessLog(slog.New(rec)))
	req, _ := http.NewRequest("GET", srv.URL+"/no_ctype?x=1", nil)
	req.Header.Set("User-Agent", "access-test/2")
	req.Header.Set("Referer", "http://ref.example/")
	do(t, client, req)
	text := rec.waitLog(t, "request", "/no_ctype?x=1")
	if text == "" {
		return
	}
	var got logRecord
	n := 0
	for _, r := range rec.Records() {
		if r.Msg == "request" {
			got = r
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d access records for one request:\n%s", n, rec.Text())
	}
	want := map[string]string{"method": "GET", "uri": "/no_ctype?x=1", "proto": "HTTP/1.1", "status": "200",
		"bytes": "28", "remote": "127.0.0.1", "user_agent": "access-test/2", "referer": "http://ref.example/"}
	for k, v := range want {
		if got.Attrs[k] != v {
			t.Errorf("%s = %q, want %q (record %s)", k, got.Attrs[k], v, got)
		}
	}
	if got.Level != slog.LevelInfo || got.Attrs["duration"] == "" || got.Attrs["aborted"] != "" {
		t.Errorf("record %s", got)
	}
}

// TestMetrics checks that the App's collector counts exactly the requests
// sent, by method and status class.
func TestMetrics(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app", wsgi.WithMaxRequestBody(10))
	reg := prometheus.NewRegistry()
	reg.MustRegister(app)
	srv := serve(t, app)
	send := []struct {
		method, path, body string
		n                  int
	}{
		{"GET", "/head", "", 3},
		{"HEAD", "/head", "", 2},
		{"GET", "/uncaught", "", 2},
		{"POST", "/input", strings.Repeat("b", 100), 1},
		{"BREW", "/head", "", 1},
	}
	for _, s := range send {
		for i := 0; i < s.n; i++ {
			req, _ := http.NewRequest(s.method, srv.URL+s.path, strings.NewReader(s.body))
			do(t, client, req)
		}
	}
	want := map[string]float64{"GET/2xx": 3, "HEAD/2xx": 2, "GET/5xx": 2, "POST/4xx": 1, "other/2xx": 1}
	deadline := time.Now().Add(10 * time.Second)
	var got map[string]float64
	var fams map[string]*dto.MetricFamily
	for {
		fams = gather(t, reg)
		got = map[string]float64{}
		for _, m := range fams["gowsgi_requests_total"].GetMetric() {
			got[label(m, "method")+"/"+label(m, "status")] = m.GetCounter().GetValue()
		}
		if equalCounts(got, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // the last request is counted once its handler returns
	}
	if !equalCounts(got, want) {
		t.Errorf("gowsgi_requests_total %v, want %v", got, want)
	}
	if n := fams["gowsgi_request_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); n != 9 {
		t.Errorf("duration histogram counted %d requests, want 9", n)
	}
	if v := fams["gowsgi_threads"].GetMetric()[0].GetGauge().GetValue(); v != wsgi.DefaultThreads {
		t.Errorf("gowsgi_threads %v", v)
	}
	if v := fams["gowsgi_requests_in_flight"].GetMetric()[0].GetGauge().GetValue(); v != 0 {
		t.Errorf("gowsgi_requests_in_flight %v with nothing running", v)
	}
	if testProcesses > 0 {
		if v := fams["gowsgi_workers"].GetMetric()[0].GetGauge().GetValue(); v != float64(testProcesses) {
			t.Errorf("gowsgi_workers %v, want %d", v, testProcesses)
		}
		for _, m := range fams["gowsgi_worker_resident_memory_bytes"].GetMetric() {
			if m.GetGauge().GetValue() < 1<<20 {
				t.Errorf("worker %s resident memory %v", label(m, "pid"), m.GetGauge().GetValue())
			}
		}
		if len(fams["gowsgi_worker_resident_memory_bytes"].GetMetric()) < testProcesses {
			t.Errorf("resident memory of %d workers", len(fams["gowsgi_worker_resident_memory_bytes"].GetMetric()))
		}
		// Each worker's scheduler, under its pid.
		limits := fams["gowsgi_python_limit"].GetMetric()
		if len(limits) != testProcesses {
			t.Errorf("gowsgi_python_limit of %d workers, want %d", len(limits), testProcesses)
		}
		for _, m := range limits {
			if label(m, "pid") == "" || m.GetGauge().GetValue() < 1 {
				t.Errorf("worker %q: gowsgi_python_limit %v", label(m, "pid"), m.GetGauge().GetValue())
			}
		}
		for _, m := range fams["gowsgi_python_threads"].GetMetric() {
			if m.GetGauge().GetValue() < 1 {
				t.Errorf("worker %q: gowsgi_python_threads %v after requests", label(m, "pid"), m.GetGauge().GetValue())
			}
		}
		return
	}
	if v := fams["gowsgi_python_limit"].GetMetric()[0].GetGauge().GetValue(); v < 1 {
		t.Errorf("gowsgi_python_limit %v", v)
	}
	if v := fams["gowsgi_python_threads"].GetMetric()[0].GetGauge().GetValue(); v < 1 {
		t.Errorf("gowsgi_python_threads %v after requests", v)
	}

	// Two requests computing at once contend for the GIL: the scheduler
	// samples it, and finds it held.
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			get(t, fmt.Sprintf("%s/spin_gone?id=gil%d&s=0.3", srv.URL, i))
		}(i)
	}
	wg.Wait()
	fams = gather(t, reg)
	samples := fams["gowsgi_python_gil_samples_total"].GetMetric()[0].GetCounter().GetValue()
	busy := fams["gowsgi_python_gil_busy_samples_total"].GetMetric()[0].GetCounter().GetValue()
	if samples < 1 || busy < 1 || busy > samples {
		t.Errorf("after two requests computing at once: %v GIL samples, %v busy", samples, busy)
	}
}

func gather(t *testing.T, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		m[f.GetName()] = f
	}
	return m
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func equalCounts(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestMetricsWorkers checks the worker processes' metrics: a crash is one
// restart and its 502 is counted, a recycle (WithMaxRequests) one recycle.
func TestMetricsWorkers(t *testing.T) {
	app, url, _ := procServer(t, 1, wsgi.WithMaxRequests(3))
	reg := prometheus.NewRegistry()
	reg.MustRegister(app)
	if resp, _ := get(t, url+"/crash"); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("crash: %s", resp.Status)
	}
	waitMetric(t, reg, "gowsgi_worker_restarts_total", 1)
	for i := 0; i < 3; i++ {
		waitServing(t, url+"/pid")
	}
	waitMetric(t, reg, "gowsgi_worker_recycles_total", 1)
	fams := gather(t, reg)
	var bad float64
	for _, m := range fams["gowsgi_requests_total"].GetMetric() {
		if label(m, "status") == "5xx" {
			bad += m.GetCounter().GetValue()
		}
	}
	if bad != 1 {
		t.Errorf("%v requests answered 5xx, want the crash's 502 alone", bad)
	}
}

// waitServing GETs url until it answers 200.
func waitServing(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, _ := get(t, url); resp.StatusCode == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer 200", url)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitMetric waits until the single metric of family name reaches want.
func waitMetric(t *testing.T, g prometheus.Gatherer, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var v float64
		if f := gather(t, g)[name]; f != nil && len(f.GetMetric()) > 0 {
			v = f.GetMetric()[0].GetCounter().GetValue()
		}
		if v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, v, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDumpStacks: a request asleep in Python shows in App.DumpStacks,
// while the app goes on serving.
func TestDumpStacks(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app")
	srv := serve(t, app)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := client.Get(srv.URL + "/sleep?t=3")
		if err == nil {
			resp.Body.Close()
		}
	}()
	var stacks string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var b strings.Builder
		if err := app.DumpStacks(&b); err != nil {
			t.Fatal(err)
		}
		stacks = b.String()
		if strings.Contains(stacks, "in r_sleep") {
			break
		}
	}
	if !strings.Contains(stacks, "in r_sleep") || !strings.Contains(stacks, "rawapp.py") || !strings.Contains(stacks, "Thread ") {
		t.Errorf("DumpStacks while a request sleeps:\n%s", stacks)
	}
	// With worker processes, each worker's stacks come under its pid.
	if testProcesses > 0 && strings.Count(stacks, "=== worker process ") != testProcesses {
		t.Errorf("DumpStacks of %d worker processes:\n%s", testProcesses, stacks)
	}
	if resp, body := get(t, srv.URL+"/head"); resp.StatusCode != 200 || len(body) != 100 {
		t.Errorf("GET /head while one sleeps: %s", resp.Status)
	}
	<-done
}
