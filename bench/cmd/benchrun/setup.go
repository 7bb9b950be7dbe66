package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
)

// A contender is one server set-up, run on every workload.
type contender struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Kind   string `json:"kind"` // "gowsgi", "ceiling" or "peer"
	Single bool   `json:"single_process"`
	// Master says the server has a master process besides its workers
	// (gunicorn, uWSGI --master): "worker RSS" leaves it out.
	Master bool `json:"master"`
	cmd    func(e *env, w *workload, addr string) *exec.Cmd
}

// env is what the contenders' commands need to know.
type env struct {
	benchDir string // bench/
	appsDir  string // bench/apps
	gowsgi   string // the gowsgi binary
	goserver string // the Go ceiling binary
	threads  int    // gowsgi --threads; 0 leaves the CLI's default
}

func contenders() []*contender {
	gunicorn := func(extra ...string) func(e *env, w *workload, addr string) *exec.Cmd {
		return func(e *env, w *workload, addr string) *exec.Cmd {
			args := append([]string{"--bind", addr, "--chdir", e.appsDir, "--log-level", "warning"}, extra...)
			return exec.Command("/usr/bin/gunicorn", append(args, w.Module)...)
		}
	}
	uwsgi := func(extra ...string) func(e *env, w *workload, addr string) *exec.Cmd {
		return func(e *env, w *workload, addr string) *exec.Cmd {
			// --http-socket closes the connection after each response, as
			// gunicorn's sync worker does; "Connection: close" says so to
			// wrk. (--http11-socket keeps connections alive but a worker
			// thread then serves one connection until it closes: the other
			// clients of wrk -c64 starve, and wrk's figures describe only
			// the few connections served. See bench/README.md.)
			args := []string{"--plugin", "python3", "--http-socket", addr, "--add-header", "Connection: close", "--master",
				"--chdir", e.appsDir, "--pythonpath", e.appsDir, "--module", w.Module,
				"--die-on-term", "--disable-logging", "--need-app"}
			return exec.Command("/usr/bin/uwsgi", append(args, extra...)...)
		}
	}
	return []*contender{
		{Name: "go", Label: "pure Go net/http handler (the ceiling)", Kind: "ceiling", Single: true,
			cmd: func(e *env, w *workload, addr string) *exec.Cmd {
				return exec.Command(e.goserver, "--bind", addr, "--workload", w.Name)
			}},
		{Name: "gowsgi", Label: "gowsgi, 1 process, default --threads", Kind: "gowsgi", Single: true,
			cmd: func(e *env, w *workload, addr string) *exec.Cmd {
				args := []string{"--bind", addr, "--chdir", e.appsDir, "--log-level", "warning"}
				if e.threads > 0 {
					args = append(args, "--threads", strconv.Itoa(e.threads))
				}
				return exec.Command(e.gowsgi, append(args, w.Module)...)
			}},
		{Name: "gunicorn-sync-1", Label: "gunicorn, sync worker ×1", Kind: "peer", Single: true, Master: true,
			cmd: gunicorn("--workers", "1", "--worker-class", "sync")},
		{Name: "gunicorn-sync-2", Label: "gunicorn, sync workers ×2", Kind: "peer", Master: true,
			cmd: gunicorn("--workers", "2", "--worker-class", "sync")},
		{Name: "gunicorn-gthread-2x4", Label: "gunicorn, gthread 2 workers × 4 threads", Kind: "peer", Master: true,
			cmd: gunicorn("--workers", "2", "--worker-class", "gthread", "--threads", "4")},
		{Name: "uwsgi-1p4t", Label: "uWSGI --http-socket --processes 1 --threads 4", Kind: "peer", Single: true, Master: true,
			cmd: uwsgi("--processes", "1", "--threads", "4")},
		{Name: "uwsgi-2p", Label: "uWSGI --http-socket --processes 2", Kind: "peer", Master: true,
			cmd: uwsgi("--processes", "2")},
		{Name: "waitress-4t", Label: "waitress, 4 threads", Kind: "peer", Single: true,
			cmd: func(e *env, w *workload, addr string) *exec.Cmd {
				c := exec.Command("/usr/bin/waitress-serve", "--listen="+addr, "--threads=4", w.Module)
				c.Dir = e.appsDir
				return c
			}},
	}
}

// A workload is one app, served by every contender from the same file in
// bench/apps (the Go ceiling does the same work in bench/goserver).
type workload struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Module string `json:"module"`
	Method string `json:"method"`
	Lua    string `json:"lua,omitempty"` // a script in bench/wrk run before report.lua
	body   []byte // the request body of the check
	check  func(resp *http.Response, body []byte) error
}

const (
	helloBody  = "Hello, World!"
	streamSize = 100 * 10240
	echoSize   = 64 << 10
)

func workloads() []*workload {
	text := func(want string) func(*http.Response, []byte) error {
		return func(resp *http.Response, body []byte) error {
			if string(body) != want {
				return fmt.Errorf("body %s, want %q", quote(body), want)
			}
			return nil
		}
	}
	echo := make([]byte, echoSize)
	for i := range echo {
		echo[i] = byte('a' + i*7%26)
	}
	return []*workload{
		{Name: "hello", Label: "plain WSGI hello (13 B)", Module: "hello:app", Method: "GET", check: text(helloBody)},
		{Name: "flask_hello", Label: "Flask hello", Module: "flask_hello:app", Method: "GET", check: text(helloBody)},
		{Name: "flask_json", Label: "Flask JSON (~1 KB)", Module: "flask_json:app", Method: "GET",
			check: func(resp *http.Response, body []byte) error {
				var doc struct {
					Count int               `json:"count"`
					Items []json.RawMessage `json:"items"`
				}
				if err := json.Unmarshal(body, &doc); err != nil {
					return fmt.Errorf("body is not JSON (%v): %s", err, quote(body))
				}
				if doc.Count != 10 || len(doc.Items) != 10 || len(body) < 900 || len(body) > 1200 {
					return fmt.Errorf("unexpected document (%d bytes, count %d): %s", len(body), doc.Count, quote(body))
				}
				return nil
			}},
		{Name: "stream", Label: "streamed 100 × 10 KB, no Content-Length", Module: "stream:app", Method: "GET",
			check: func(resp *http.Response, body []byte) error {
				if len(body) != streamSize {
					return fmt.Errorf("body is %d bytes, want %d", len(body), streamSize)
				}
				if i := bytes.IndexFunc(body, func(r rune) bool { return r != 'x' }); i >= 0 {
					return fmt.Errorf("body byte %d is %q, want 'x'", i, body[i])
				}
				return nil
			}},
		{Name: "echo", Label: "POST echo, 64 KB body", Module: "echo:app", Method: "POST", Lua: "post.lua", body: echo,
			check: func(resp *http.Response, body []byte) error {
				if !bytes.Equal(body, echo) {
					return fmt.Errorf("echoed %d bytes that differ from the %d sent (%s)", len(body), len(echo), quote(body))
				}
				return nil
			}},
		{Name: "iobound", Label: "I/O-bound: sleep 2 ms per request", Module: "iobound:app", Method: "GET", check: text("ok")},
	}
}

func quote(b []byte) string {
	if len(b) > 120 {
		return strconv.Quote(string(b[:120])) + "…"
	}
	return strconv.Quote(string(b))
}

// answer is what a check learned about a server's response.
type answer struct {
	// CloseDelimited: the body had neither a Content-Length nor chunked
	// framing, so the server ended it by closing the connection. wrk counts
	// every such response as a read error, though the body is complete.
	CloseDelimited bool
	// Close: the server closes the connection after each response.
	Close bool
}

// checkOnce sends one request of the workload and checks the answer.
func checkOnce(c *http.Client, w *workload, url string, ans *answer) error {
	var body io.Reader
	if w.body != nil {
		body = bytes.NewReader(w.body)
	}
	req, err := http.NewRequest(w.Method, url, body)
	if err != nil {
		return err
	}
	if w.body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if ans != nil {
		ans.Close = resp.Close
		ans.CloseDelimited = resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 && resp.Close
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %s, body %s", resp.Status, quote(got))
	}
	return w.check(resp, got)
}

var errDied = errors.New("the server exited")

// appsDir is where the Python apps live, below the bench directory.
func appsDir(benchDir string) string { return filepath.Join(benchDir, "apps") }
