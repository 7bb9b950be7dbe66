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
	"slices"
	"strconv"
	"strings"
)

// A contender is one server set-up, run on every workload it can serve.
type contender struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Kind   string `json:"kind"` // "gowsgi", "ceiling" or "peer"
	Single bool   `json:"single_process"`
	// Procs is the number of processes that run the app (Python
	// interpreters, for all but the ceiling).
	Procs int `json:"processes"`
	// Master says the server has a master process besides its workers
	// (gunicorn, uWSGI --master, gowsgi --workers, Apache): "worker RSS"
	// leaves it out.
	Master bool `json:"master"`
	// Fairness: the contender is also in the fairness figure.
	Fairness bool `json:"fairness,omitempty"`
	// Workloads limits the contender to these workloads (none: all).
	Workloads []string `json:"workloads,omitempty"`
	cmd       func(e *env, w *workload, addr string) (*exec.Cmd, error)
}

// procs is the number of processes that run the app; results written
// before Procs existed know only Single.
func (c *contender) procs() int {
	switch {
	case c.Procs > 0:
		return c.Procs
	case c.Single:
		return 1
	}
	return 2
}

// runs reports whether c takes part in workload w: the ceiling only where
// bench/goserver has an equivalent, and a limited contender only on its
// workloads.
func (c *contender) runs(w *workload) bool {
	if c.Kind == "ceiling" && !w.GoCeiling {
		return false
	}
	return len(c.Workloads) == 0 || slices.Contains(c.Workloads, w.Name)
}

// env is what the contenders' commands need to know.
type env struct {
	benchDir  string // bench/
	appsDir   string // bench/apps
	gowsgi    string // the gowsgi binary
	goserver  string // the Go ceiling binary
	gowsgiLib string // examples/workers: the library's WithProcesses in a Go program
	threads   int    // gowsgi --threads; 0 leaves the CLI's default
	tmp       string // the run's directory for logs and generated files
}

// python is the interpreter of the peers and of the helper scripts:
// Debian's, whatever is first on PATH.
const python = "/usr/bin/python3"

// threadSweep is the workloads on which gowsgi also runs with fixed
// --threads, to compare its default with the best fixed count.
var threadSweep = []string{"mixed", "iobound"}

func contenders() []*contender {
	fixed := func(f func(e *env, w *workload, addr string) *exec.Cmd) func(e *env, w *workload, addr string) (*exec.Cmd, error) {
		return func(e *env, w *workload, addr string) (*exec.Cmd, error) { return f(e, w, addr), nil }
	}
	gowsgi := func(threads int, extra ...string) func(e *env, w *workload, addr string) (*exec.Cmd, error) {
		return fixed(func(e *env, w *workload, addr string) *exec.Cmd {
			args := []string{"--bind", addr, "--chdir", e.appsDir, "--log-level", "warning"}
			switch {
			case threads > 0:
				args = append(args, "--threads", strconv.Itoa(threads))
			case e.threads > 0:
				args = append(args, "--threads", strconv.Itoa(e.threads))
			}
			args = append(args, extra...)
			return exec.Command(e.gowsgi, append(args, w.Module)...)
		})
	}
	gunicorn := func(extra ...string) func(e *env, w *workload, addr string) (*exec.Cmd, error) {
		return fixed(func(e *env, w *workload, addr string) *exec.Cmd {
			args := append([]string{"--bind", addr, "--chdir", e.appsDir, "--log-level", "warning"}, extra...)
			return exec.Command("/usr/bin/gunicorn", append(args, w.Module)...)
		})
	}
	uwsgi := func(extra ...string) func(e *env, w *workload, addr string) (*exec.Cmd, error) {
		return fixed(func(e *env, w *workload, addr string) *exec.Cmd {
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
		})
	}
	cs := []*contender{
		{Name: "go", Label: "pure Go net/http handler (the ceiling)", Kind: "ceiling", Single: true, Procs: 1,
			cmd: fixed(func(e *env, w *workload, addr string) *exec.Cmd {
				return exec.Command(e.goserver, "--bind", addr, "--workload", w.Name)
			})},
		{Name: "gowsgi", Label: "gowsgi, 1 process, default --threads", Kind: "gowsgi", Single: true, Procs: 1, Fairness: true,
			cmd: gowsgi(0)},
		{Name: "gowsgi-w2", Label: "gowsgi --workers 2, default --threads", Kind: "gowsgi", Procs: 2, Master: true, Fairness: true,
			cmd: gowsgi(0, "--workers", "2")},
		{Name: "gowsgi-lib-p2", Label: "gowsgi library, WithProcesses(2) in a Go program (examples/workers)", Kind: "gowsgi", Procs: 2, Master: true,
			Workloads: []string{"hello", "flask_hello", "flask_json", "django"},
			cmd: func(e *env, w *workload, addr string) (*exec.Cmd, error) {
				if e.gowsgiLib == "" {
					return nil, errors.New("no --gowsgi-lib binary (bench/run.sh builds examples/workers)")
				}
				cmd := exec.Command(e.gowsgiLib, "-addr", addr, "-pydir", e.appsDir, "-spec", w.Module, "-processes", "2")
				cmd.Dir = e.appsDir
				return cmd, nil
			}},
	}
	// The sweep pins how many requests run in Python at once
	// (--fixed-threads), for the target that the adaptive default comes
	// within 10% of the best fixed setting.
	for _, n := range []int{1, 4, 8, 32} {
		cs = append(cs, &contender{Name: fmt.Sprintf("gowsgi-t%d", n), Label: fmt.Sprintf("gowsgi, 1 process, --threads %d --fixed-threads", n),
			Kind: "gowsgi", Single: true, Procs: 1, Workloads: threadSweep, cmd: gowsgi(n, "--fixed-threads")})
	}
	return append(cs,
		&contender{Name: "gunicorn-sync-1", Label: "gunicorn, sync worker ×1", Kind: "peer", Single: true, Procs: 1, Master: true, Fairness: true,
			cmd: gunicorn("--workers", "1", "--worker-class", "sync")},
		&contender{Name: "gunicorn-sync-2", Label: "gunicorn, sync workers ×2", Kind: "peer", Procs: 2, Master: true,
			cmd: gunicorn("--workers", "2", "--worker-class", "sync")},
		&contender{Name: "gunicorn-gthread-2x4", Label: "gunicorn, gthread 2 workers × 4 threads", Kind: "peer", Procs: 2, Master: true,
			cmd: gunicorn("--workers", "2", "--worker-class", "gthread", "--threads", "4")},
		&contender{Name: "uwsgi-1p4t", Label: "uWSGI --http-socket --processes 1 --threads 4", Kind: "peer", Single: true, Procs: 1, Master: true, Fairness: true,
			cmd: uwsgi("--processes", "1", "--threads", "4")},
		&contender{Name: "uwsgi-2p", Label: "uWSGI --http-socket --processes 2", Kind: "peer", Procs: 2, Master: true,
			cmd: uwsgi("--processes", "2")},
		&contender{Name: "waitress-4t", Label: "waitress, 4 threads", Kind: "peer", Single: true, Procs: 1, Fairness: true,
			cmd: fixed(func(e *env, w *workload, addr string) *exec.Cmd {
				c := exec.Command("/usr/bin/waitress-serve", "--listen="+addr, "--threads=4", w.Module)
				c.Dir = e.appsDir
				return c
			})},
		&contender{Name: "modwsgi-2x4", Label: "Apache mod_wsgi, daemon mode, 2 processes × 4 threads (mpm_event)", Kind: "peer", Procs: 2, Master: true,
			cmd: modwsgi(2, 4)},
	)
}

// A workload is one app, served by every contender from the same file in
// bench/apps (the Go ceiling does the same work in bench/goserver, where it
// can).
type workload struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Module string `json:"module"`
	Method string `json:"method"`
	Lua    string `json:"lua,omitempty"` // a script in bench/wrk run before report.lua
	// Paths are the request paths, which the Lua script sends in turn
	// (none: "/").
	Paths []string `json:"paths,omitempty"`
	// GoCeiling: bench/goserver has a Go equivalent of the app.
	GoCeiling bool   `json:"go_ceiling"`
	body      []byte // the request body of the check
	check     func(path string, resp *http.Response, body []byte) error
	// setup prepares what the app needs (a database) before any server
	// starts.
	setup func(e *env) error
}

func (w *workload) paths() []string {
	if len(w.Paths) == 0 {
		return []string{"/"}
	}
	return w.Paths
}

const (
	helloBody  = "Hello, World!"
	streamSize = 100 * 10240
	echoSize   = 64 << 10
	// djangoRows is the number of products the django view renders.
	djangoRows = 20
)

func text(want string) func(string, *http.Response, []byte) error {
	return func(_ string, resp *http.Response, body []byte) error {
		if string(body) != want {
			return fmt.Errorf("body %s, want %q", quote(body), want)
		}
		return nil
	}
}

func workloads() []*workload {
	echo := make([]byte, echoSize)
	for i := range echo {
		echo[i] = byte('a' + i*7%26)
	}
	return []*workload{
		{Name: "hello", Label: "plain WSGI hello (13 B)", Module: "hello:app", Method: "GET", GoCeiling: true, check: text(helloBody)},
		{Name: "flask_hello", Label: "Flask hello", Module: "flask_hello:app", Method: "GET", GoCeiling: true, check: text(helloBody)},
		{Name: "flask_json", Label: "Flask JSON (~1 KB)", Module: "flask_json:app", Method: "GET", GoCeiling: true,
			check: func(_ string, resp *http.Response, body []byte) error {
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
		{Name: "stream", Label: "streamed 100 × 10 KB, no Content-Length", Module: "stream:app", Method: "GET", GoCeiling: true,
			check: func(_ string, resp *http.Response, body []byte) error {
				if len(body) != streamSize {
					return fmt.Errorf("body is %d bytes, want %d", len(body), streamSize)
				}
				if i := bytes.IndexFunc(body, func(r rune) bool { return r != 'x' }); i >= 0 {
					return fmt.Errorf("body byte %d is %q, want 'x'", i, body[i])
				}
				return nil
			}},
		{Name: "echo", Label: "POST echo, 64 KB body", Module: "echo:app", Method: "POST", Lua: "post.lua", body: echo, GoCeiling: true,
			check: func(_ string, resp *http.Response, body []byte) error {
				if !bytes.Equal(body, echo) {
					return fmt.Errorf("echoed %d bytes that differ from the %d sent (%s)", len(body), len(echo), quote(body))
				}
				return nil
			}},
		{Name: "iobound", Label: "I/O-bound: sleep 2 ms per request", Module: "iobound:app", Method: "GET", GoCeiling: true, check: text("ok")},
		{Name: "django", Label: "Django: 20 rows from SQLite through the ORM, a 1.1 KB template", Module: "djangobench.wsgi:application",
			Method: "GET", setup: djangoDB,
			check: func(_ string, resp *http.Response, body []byte) error {
				if n := bytes.Count(body, []byte("<tr>")); n != djangoRows || !bytes.Contains(body, []byte("P-000")) {
					return fmt.Errorf("%d table rows, want %d: %s", n, djangoRows, quote(body))
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					return fmt.Errorf("Content-Type %q, want text/html", ct)
				}
				return nil
			}},
		{Name: "mixed", Label: "mixed: 1 ms CPU, a 2 ms wait, and 0.5 ms CPU + 2 ms wait, in turn", Module: "mixed:app",
			Method: "GET", Lua: "mixed.lua", Paths: []string{"/compute", "/wait", "/both"},
			check: func(path string, resp *http.Response, body []byte) error {
				if want := strings.TrimPrefix(path, "/"); !bytes.HasPrefix(body, []byte(want)) {
					return fmt.Errorf("body %s, want %q…", quote(body), want)
				}
				return nil
			}},
	}
}

// djangoDB creates and fills the django workload's SQLite database,
// bench/.build/djangobench.sqlite3, anew (bench/djangodb.py).
func djangoDB(e *env) error {
	cmd := exec.Command(python, filepath.Join(e.benchDir, "djangodb.py"), djangoDBPath(e))
	cmd.Dir = e.appsDir
	cmd.Env = serverEnv(e)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	fmt.Printf("   %s", out)
	return nil
}

// djangoDBPath is where bench/apps/djangobench/settings.py looks for the
// database: bench/.build/djangobench.sqlite3.
func djangoDBPath(e *env) string { return filepath.Join(e.benchDir, ".build", "djangobench.sqlite3") }

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

// checkOnce sends the workload's request for each of its paths and checks
// the answers.
func checkOnce(c *http.Client, w *workload, base string, ans *answer) error {
	for _, p := range w.paths() {
		if err := checkPath(c, w, base, p, ans); err != nil {
			return err
		}
	}
	return nil
}

func checkPath(c *http.Client, w *workload, base, path string, ans *answer) error {
	var body io.Reader
	if w.body != nil {
		body = bytes.NewReader(w.body)
	}
	url := strings.TrimSuffix(base, "/") + path
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
		return fmt.Errorf("%s: reading the body: %w", path, err)
	}
	if ans != nil {
		ans.Close = resp.Close
		ans.CloseDelimited = resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 && resp.Close
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: status %s, body %s", path, resp.Status, quote(got))
	}
	if err := w.check(path, resp, got); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

var errDied = errors.New("the server exited")

// appsDir is where the Python apps live, below the bench directory.
func appsDir(benchDir string) string { return filepath.Join(benchDir, "apps") }
