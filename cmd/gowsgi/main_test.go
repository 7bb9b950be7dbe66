package main

// End-to-end tests of the gowsgi command: the binary is built once, then
// run as a real process serving testdata/cli/app.py.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/wsgi/internal/syncbuf"
)

var (
	binary  string // the built gowsgi
	appDir  string // testdata/cli, the --chdir of the tests
	dataDir string // testdata/
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		tmp, err := os.MkdirTemp("", "gowsgi-cli-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer os.RemoveAll(tmp)
		binary = filepath.Join(tmp, "gowsgi")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			return 2
		}
		if dataDir, err = filepath.Abs("../../testdata"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		appDir = filepath.Join(dataDir, "cli")
		return m.Run()
	}())
}

type proc struct {
	cmd    *exec.Cmd
	stderr *syncbuf.Buffer
	done   chan struct{}
	err    error
}

// startGowsgi runs the binary with args; it is killed if still running
// when the test ends.
func startGowsgi(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), stderr: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("gowsgi %s output:\n%s", strings.Join(args, " "), p.stderr.String())
		}
	})
	return p
}

// wait returns the exit code, failing the test if the process does not
// exit within d.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("gowsgi did not exit within %v; output:\n%s", d, p.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("gowsgi: %v", p.err)
	}
	return 0
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// freePort returns a loopback TCP address nothing listens on, never one
// it returned before in this test binary.
func freePort(t *testing.T) string {
	t.Helper()
	// The kernel may hand the same ephemeral port to two Listens in a
	// row once the first is closed, so a test asking for two addresses
	// could get one twice; remember every port given out in this run.
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handedOut[addr] {
			handedOut[addr] = true
			return addr
		}
	}
	t.Fatal("freePort: the kernel kept giving out ports this test already used")
	return ""
}

// handedOut holds the addresses freePort has returned in this test binary.
var (
	handedOutMu sync.Mutex
	handedOut   = map[string]bool{}
)

// waitReady polls url until it answers 200.
func waitReady(t *testing.T, p *proc, c *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if p.exited() {
			t.Fatalf("gowsgi exited before serving; output:\n%s", p.stderr.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("gowsgi did not answer %s within 60 s (last error %v); output:\n%s", url, err, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readAll(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestCLIServeAndGracefulStop(t *testing.T) {
	addr := freePort(t)
	marker := filepath.Join(t.TempDir(), "atexit.txt")
	p := startGowsgi(t, []string{"GOWSGI_TEST_ATEXIT=" + marker},
		"--bind", addr, "--threads", "8", "--chdir", appDir, "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	base := "http://" + addr
	waitReady(t, p, c, base+"/")

	if resp, body := readAll(t, c, base+"/"); resp.StatusCode != 200 || body != "cli ok\n" {
		t.Errorf("GET /: %s %q", resp.Status, body)
	}
	var env struct {
		PathInfo    string `json:"PATH_INFO"`
		ScriptName  string `json:"SCRIPT_NAME"`
		Multithread bool   `json:"multithread"`
		Cwd         string `json:"cwd"`
	}
	_, body := readAll(t, c, base+"/environ/x")
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("%q: %v", body, err)
	}
	if env.PathInfo != "/environ/x" || env.ScriptName != "" || !env.Multithread || env.Cwd != appDir {
		t.Errorf("environ %+v; want PATH_INFO /environ/x, SCRIPT_NAME '', multithread (--threads 8), cwd %s", env, appDir)
	}

	// No path cleaning or redirects in front of the app.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "GET /environ//a/../b HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	conn.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"PATH_INFO": "/environ//a/../b"`) {
		t.Errorf("GET /environ//a/../b: %s %s; want the path untouched", resp.Status, raw)
	}

	// SIGTERM with a slow request in flight: it completes, then the
	// process exits 0.
	slow, err := c.Get(base + "/slow?1.0")
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Body.Close()
	br := bufio.NewReader(slow.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "start\n" {
		t.Fatalf("slow request: %q %v", line, err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "end\n" {
		t.Errorf("the request in flight at SIGTERM: got %q, %v; want it to complete with %q", rest, err, "end\n")
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; output:\n%s", code, p.stderr.String())
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "atexit ran\n" {
		t.Errorf("Python's atexit handler did not run on stop (%q, %v)", b, err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after the process exited", addr)
	}
}

func TestCLIUnixSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "gw") // short: socket paths are limited to ~108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	p := startGowsgi(t, nil, "--bind", "unix:"+sock, "--threads", "2", "--fixed-threads", "--chdir", appDir, "app:app")
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	waitReady(t, p, c, "http://gowsgi/")
	if resp, body := readAll(t, c, "http://gowsgi/"); resp.StatusCode != 200 || body != "cli ok\n" {
		t.Errorf("GET / over the unix socket: %s %q", resp.Status, body)
	}
	_, body := readAll(t, c, "http://gowsgi/environ")
	var env map[string]any
	json.Unmarshal([]byte(body), &env)
	if env["PATH_INFO"] != "/environ" {
		t.Errorf("environ over a unix socket: %s", body)
	}
	c.CloseIdleConnections()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket file is left behind after exit (stat: %v)", err)
	}
}

func TestCLIBadSpec(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []string
	}{
		{"gowsgi_cli_no_such_module:app", []string{"Traceback (most recent call last)", "ModuleNotFoundError", "gowsgi_cli_no_such_module"}},
		{"app:no_such_attr", []string{"AttributeError", "no_such_attr"}},
		{"broken_raise:app", []string{"Traceback (most recent call last)", "RuntimeError: broken_raise refuses to load"}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			p := startGowsgi(t, nil, "--bind", freePort(t), "--chdir", appDir, "--pythonpath", dataDir, tc.spec)
			if code := p.wait(t, 60*time.Second); code == 0 {
				t.Errorf("exit code 0 for a spec that cannot load")
			}
			out := p.stderr.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestCLIWorkers runs --workers 2: two processes, each with its own
// interpreter, serve the requests the master hands them; a worker that
// dies is replaced; SIGTERM to the master stops them all cleanly.
func TestCLIWorkers(t *testing.T) {
	addr := freePort(t)
	marker := filepath.Join(t.TempDir(), "atexit.txt")
	p := startGowsgi(t, []string{"GOWSGI_TEST_ATEXIT=" + marker},
		"--bind", addr, "--workers", "2", "--threads", "4", "--chdir", appDir, "app:app")
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	base := "http://" + addr
	waitReady(t, p, c, base+"/")

	type env struct {
		PID          int  `json:"pid"`
		Multiprocess bool `json:"multiprocess"`
	}
	get := func() env {
		_, body := readAll(t, c, base+"/environ")
		var e env
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if !e.Multiprocess {
			t.Fatalf("wsgi.multiprocess is false under --workers 2")
		}
		return e
	}
	// The master spreads requests over the workers.
	pids := map[int]bool{}
	for i := 0; i < 300 && len(pids) < 2; i++ {
		pids[get().PID] = true
	}
	if len(pids) != 2 {
		t.Fatalf("connections reached %d worker processes, want 2", len(pids))
	}

	// A worker that dies is replaced.
	var victim int
	for pid := range pids {
		victim = pid
		break
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		// A request in flight on the victim as it died is answered 502.
		if resp, body := readAll(t, c, base+"/environ"); resp.StatusCode == 200 {
			var e env
			if err := json.Unmarshal([]byte(body), &e); err == nil && !pids[e.PID] {
				break // the replacement answered
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replacement for killed worker %d within 30 s", victim)
		}
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("master exit code %d after SIGTERM, want 0", code)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "atexit ran\n" {
		t.Errorf("the workers' Python atexit handlers did not run (%q, %v)", b, err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after the master exited", addr)
	}
}

// TestCLIRequestFraming sends requests whose body framing a proxy in front
// could read differently (request smuggling): each gets 400 and the
// connection is closed, so nothing after it is taken as a request.
// Well-framed requests on one connection, written in small pieces, are
// all served.
func TestCLIRequestFraming(t *testing.T) {
	addr := freePort(t)
	p := startGowsgi(t, nil, "--bind", addr, "--threads", "2", "--chdir", appDir, "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	waitReady(t, p, c, "http://"+addr+"/")

	exchange := func(t *testing.T, req string, piece int) string {
		t.Helper()
		conn := dialRaw(t, addr)
		defer conn.Close()
		for i := 0; i < len(req); i += piece {
			if _, err := io.WriteString(conn, req[i:min(i+piece, len(req))]); err != nil {
				t.Fatal(err)
			}
			if piece < len(req) {
				time.Sleep(time.Millisecond)
			}
		}
		conn.(*net.TCPConn).CloseWrite()
		out, err := io.ReadAll(conn)
		if err != nil {
			t.Fatalf("reading the answer to %q: %v (got %q)", req, err, out)
		}
		return string(out)
	}

	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"
	for _, tc := range []struct{ name, req string }{
		{"Content-Length and Transfer-Encoding", "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"Transfer-Encoding and Content-Length", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled},
		{"Transfer-Encoding on HTTP/1.0", "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"obs-fold", "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"after a good request", "GET / HTTP/1.1\r\nHost: h\r\n\r\n" +
			"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := exchange(t, tc.req, len(tc.req))
			if i := strings.Index(out, "HTTP/1.1 400 "); i < 0 || strings.Count(out[i:], "HTTP/1.") != 1 {
				t.Errorf("answer %q; want 400 Bad Request as the last response, then the connection closed", out)
			}
			if strings.Contains(out, "/smuggled") || strings.Contains(out, "cli ok") && strings.Count(out, "HTTP/1.") == strings.Count(tc.req, "HTTP/1.") {
				t.Errorf("the request after the bad one was served: %q", out)
			}
		})
	}

	// Well-framed bodies of every kind, one connection, in small pieces.
	good := "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n" +
		"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 63\r\n\r\n" +
		"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n" + // a body, not a request
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n" +
		"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nxy" +
		"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	for _, piece := range []int{len(good), 7, 1} {
		out := exchange(t, good, piece)
		if n := strings.Count(out, " 200 OK\r\n"); n != 5 || strings.Contains(out, " 400 ") ||
			!strings.Contains(out, "\r\n\r\nabcde") || !strings.Contains(out, "\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\n") ||
			!strings.Contains(out, "\r\n\r\nxy") {
			t.Errorf("written %d bytes at a time: %d responses of 200 (want 5):\n%s", piece, n, out)
		}
	}
}

// TestCLIMultipleBinds serves one app on two TCP addresses and a unix
// socket. Each start is a fresh race: the first listener's Serve used to
// set up HTTP/2 (filling srv.TLSConfig), after which another listener
// went to ServeTLS without a certificate and the server exited with
// "open : no such file or directory".
func TestCLIMultipleBinds(t *testing.T) {
	dir, err := os.MkdirTemp("", "gw") // short: socket paths are limited to ~108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	unixClient := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < 5; i++ {
		a, b := freePort(t), freePort(t)
		p := startGowsgi(t, nil, "--bind", a, "--bind", "unix:"+sock, "--bind", b, "--threads", "2", "--chdir", appDir, "app:app")
		waitReady(t, p, c, "http://"+a+"/")
		for _, url := range []string{"http://" + a + "/", "http://" + b + "/"} {
			if resp, body := readAll(t, c, url); resp.StatusCode != 200 || body != "cli ok\n" {
				t.Errorf("start %d, GET %s: %s %q", i, url, resp.Status, body)
			}
		}
		if resp, body := readAll(t, unixClient, "http://gowsgi/"); resp.StatusCode != 200 || body != "cli ok\n" {
			t.Errorf("start %d, over the unix socket: %s %q", i, resp.Status, body)
		}
		unixClient.CloseIdleConnections()
		p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("start %d: exit code %d, want 0; output:\n%s", i, code, p.stderr.String())
		}
	}
}

// dialRaw connects to addr for a raw HTTP exchange, with a 20 s deadline
// on the whole of it.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	return conn
}
