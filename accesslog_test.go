package wsgi_test

// WithAccessFunc and WithAccessLog: one record for each request, with what
// was really sent.

import (
	"bytes"
	"context"
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
