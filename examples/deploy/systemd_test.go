package deploy

import (
	"bufio"
	"context"
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
)

// A unit is a systemd unit file: section → key → values, in order (a
// key may be given more than once).
type unit map[string]map[string][]string

func (u unit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// readUnit parses a unit file as systemd does: # and ; comments, [Section]
// headers, KEY=VALUE lines, and lines continued by a trailing backslash.
func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, section, cont := unit{}, "", ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cont == "" && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if cont != "" && (strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			continue // comments inside a continued line are skipped
		}
		if strings.HasSuffix(line, `\`) {
			cont += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line, cont = cont+line, ""
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("%s:%d: not KEY=VALUE in a section: %q", path, n, line)
		}
		u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// splitExec splits an ExecStart= command line into words as systemd does
// for the quoting used here: blanks separate words, "..." and '...' quote,
// a backslash escapes the next character. The prefixes -, @, :, + and !
// before the binary are dropped. Specifiers (%h) and $VARIABLES are not
// expanded: the test fails on them rather than guess.
func splitExec(t *testing.T, line string) []string {
	t.Helper()
	if strings.ContainsAny(line, "%$") {
		t.Fatalf("ExecStart %q: specifiers and variables are not expanded by this test; spell the values out", line)
	}
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
			inWord = true
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("ExecStart %q: unterminated quote", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) > 0 {
		words[0] = strings.TrimLeft(words[0], "-@:+!")
	}
	return words
}

func TestSplitExec(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"/usr/bin/gowsgi app:app", []string{"/usr/bin/gowsgi", "app:app"}},
		{"-/usr/bin/gowsgi  --chdir  /srv/app   app:app ", []string{"/usr/bin/gowsgi", "--chdir", "/srv/app", "app:app"}},
		{`/bin/gowsgi "factory:create_app('prod')" 'a "b"' c\ d`, []string{"/bin/gowsgi", "factory:create_app('prod')", `a "b"`, "c d"}},
	} {
		got := splitExec(t, tc.line)
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
			t.Errorf("splitExec(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func readUnits(t *testing.T) (socket, service unit) {
	return readUnit(t, filepath.Join("systemd", "gowsgi.socket")), readUnit(t, filepath.Join("systemd", "gowsgi.service"))
}

// serviceArgs returns the ExecStart= line of gowsgi.service, split, with
// its binary path dropped.
func serviceArgs(t *testing.T, service unit) []string {
	t.Helper()
	execs := service["Service"]["ExecStart"]
	if len(execs) != 1 {
		t.Fatalf("gowsgi.service: want one ExecStart=, got %q", execs)
	}
	words := splitExec(t, execs[0])
	if len(words) < 2 || filepath.Base(words[0]) != "gowsgi" {
		t.Fatalf("ExecStart=%s: want the gowsgi binary, flags and an app spec", execs[0])
	}
	return words[1:]
}

// TestSystemdUnits checks what the units promise: the socket is
// gowsgi.service's, the service stops gracefully within systemd's
// timeout, restarts on failure, runs hardened as a user of its own.
func TestSystemdUnits(t *testing.T) {
	socket, service := readUnits(t)
	args := serviceArgs(t, service)
	cfg := printConfig(t, nil, args...)
	graceful, err := time.ParseDuration(cfg["graceful-timeout"])
	if err != nil {
		t.Fatalf("--print-config graceful-timeout %q: %v", cfg["graceful-timeout"], err)
	}
	stop, err := time.ParseDuration(service.get("Service", "TimeoutStopSec") + "s")
	if err != nil {
		t.Fatalf("TimeoutStopSec=%s: want whole seconds: %v", service.get("Service", "TimeoutStopSec"), err)
	}
	if _, bound := flagValue(args, "bind"); bound {
		t.Errorf("ExecStart has --bind: with the socket systemd passes it is ignored; leave it out")
	}
	if stop < graceful+5*time.Second {
		t.Errorf("TimeoutStopSec=%v, --graceful-timeout %v: want at least 5 s more than the drain, for Python's atexit handlers and exit", stop, graceful)
	}
	for _, tc := range []struct {
		u              unit
		section, key   string
		want           string
		containsInList bool // want is one of the space-separated values
	}{
		{socket, "Install", "WantedBy", "sockets.target", true},
		{service, "Unit", "Requires", "gowsgi.socket", true},
		{service, "Unit", "After", "gowsgi.socket", true},
		{service, "Service", "Type", "simple", false},
		{service, "Service", "KillSignal", "SIGTERM", false},
		{service, "Service", "Restart", "on-failure", false},
		{service, "Service", "NoNewPrivileges", "yes", false},
		{service, "Service", "ProtectSystem", "strict", false},
		{service, "Service", "PrivateTmp", "yes", false},
		{service, "Service", "ProtectHome", "yes", false},
	} {
		got := tc.u.get(tc.section, tc.key)
		ok := got == tc.want
		if tc.containsInList {
			ok = false
			for _, f := range strings.Fields(got) {
				ok = ok || f == tc.want
			}
		}
		if !ok {
			t.Errorf("[%s] %s=%q, want %q", tc.section, tc.key, got, tc.want)
		}
	}
	if listen := socket["Socket"]["ListenStream"]; len(listen) != 1 {
		t.Errorf("gowsgi.socket: want one ListenStream=, got %q", listen)
	}
	if u := service.get("Service", "User"); u == "" || u == "root" || u == "0" {
		t.Errorf("User=%q: want a user of the app's own", u)
	}
	// Hardening that would break the app must stay off.
	if v := service.get("Service", "MemoryDenyWriteExecute"); v == "yes" || v == "true" {
		t.Errorf("MemoryDenyWriteExecute=%s breaks ctypes and cffi callbacks", v)
	}
	// A RuntimeDirectory= of the service would be removed at each stop,
	// taking the socket file that gowsgi.socket holds open with it.
	if rd := service.get("Service", "RuntimeDirectory"); rd != "" {
		if l := socket.get("Socket", "ListenStream"); strings.HasPrefix(l, "/run/"+rd+"/") && service.get("Service", "RuntimeDirectoryPreserve") != "yes" {
			t.Errorf("RuntimeDirectory=%s holds the socket %s: a stop would remove it", rd, l)
		}
	}
}

// TestSystemdAnalyzeVerify runs systemd's own check on the units. The
// binary /usr/local/bin/gowsgi is not installed here, so the copies
// checked name the one this test built instead.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze (scripts/install-deps.sh installs systemd): the units are not verified by systemd")
	}
	_, service := readUnits(t)
	bin := splitExec(t, service["Service"]["ExecStart"][0])[0]
	dir := t.TempDir()
	for _, name := range []string{"gowsgi.socket", "gowsgi.service"} {
		b, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(string(b), bin, gowsgi)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(analyze, "verify", "--man=no", filepath.Join(dir, "gowsgi.socket"), filepath.Join(dir, "gowsgi.service"))
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		// Any output is a complaint: unknown keys are only warnings, with
		// exit status 0.
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSystemdSocketActivation runs gowsgi with the flags of the unit's
// ExecStart under systemd-socket-activate, which passes it a listening
// socket as gowsgi.socket would, on a socket of the same kind as
// ListenStream=. It must serve the app and the metrics, and on SIGTERM
// finish the request in flight, then exit 0.
func TestSystemdSocketActivation(t *testing.T) {
	activate, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("no systemd-socket-activate (scripts/install-deps.sh installs systemd)")
	}
	socket, service := readUnits(t)
	args := serviceArgs(t, service)
	// The deployment's paths and ports, moved to this machine's.
	metrics := freeAddr(t)
	args = setFlag(t, args, "chdir", appDir)
	args = setFlag(t, args, "metrics-bind", metrics)

	listen := socket.get("Socket", "ListenStream")
	client := &http.Client{Timeout: 30 * time.Second}
	base := "http://gowsgi"
	if strings.HasPrefix(listen, "/") {
		listen = filepath.Join(t.TempDir(), "app.sock")
		path := listen
		client.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}
	} else {
		listen = freeAddr(t)
		base = "http://" + listen
	}

	cmd := exec.Command(activate, append([]string{"--listen", listen, gowsgi}, args...)...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second // worker processes may hold the output open a moment longer
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}) // closed once cmd has exited, with waitErr
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("systemd-socket-activate gowsgi %s:\n%s", strings.Join(args, " "), out.String())
		}
	})
	waitFor(t, out, "Listening on", 20*time.Second)

	// The first connection makes systemd-socket-activate exec gowsgi; it
	// waits in the socket's queue while the app loads.
	for _, tc := range []struct{ path, want string }{
		{"/", "Hello from a deployed gowsgi!\n"},
		{"/healthz", "ok\n"},
	} {
		if status, body := get(t, client, base+tc.path); status != 200 || body != tc.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tc.path, status, body, tc.want)
		}
	}
	if !strings.Contains(out.String(), "serving the sockets systemd passed") {
		t.Errorf("gowsgi did not say it serves the socket systemd passed")
	}
	if status, body := get(t, http.DefaultClient, "http://"+metrics+"/metrics"); status != 200 || !strings.Contains(body, "gowsgi_requests_in_flight") {
		t.Errorf("GET /metrics on --metrics-bind %s = %d, without gowsgi_requests_in_flight:\n%.500s", metrics, status, body)
	}

	// A request in flight when SIGTERM comes is finished, not cut.
	type result struct {
		status int
		body   string
		err    error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := client.Get(base + "/slow?s=2")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- result{resp.StatusCode, string(b), err}
	}()
	waitInFlight(t, metrics, 1)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if r := <-slow; r.err != nil || r.status != 200 || r.body != "slept 2 s\n" {
		t.Errorf("the request in flight at SIGTERM: %d %q %v, want 200 \"slept 2 s\\n\"", r.status, r.body, r.err)
	}
	stopSec, _ := time.ParseDuration(service.get("Service", "TimeoutStopSec") + "s")
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("after SIGTERM: %v, want exit status 0", waitErr)
		}
	case <-time.After(stopSec):
		t.Fatalf("gowsgi still running %v (TimeoutStopSec) after SIGTERM: systemd would kill it", stopSec)
	}
	if !strings.Contains(out.String(), "stopping: waiting for requests in flight") {
		t.Errorf("gowsgi did not log its graceful stop")
	}
}

// waitInFlight polls /metrics until gowsgi_requests_in_flight is n.
func waitInFlight(t *testing.T, metrics string, n int) {
	t.Helper()
	want := fmt.Sprintf("gowsgi_requests_in_flight %d\n", n)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := get(t, http.DefaultClient, "http://"+metrics+"/metrics")
		if strings.Contains(body, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed %q", strings.TrimSpace(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// freeAddr returns a loopback TCP address nothing listens on, never one
// it returned before in this test binary: the kernel may give the same
// ephemeral port to two Listens in a row once the first is closed.
func freeAddr(t *testing.T) string {
	t.Helper()
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
	t.Fatal("freeAddr: the kernel kept giving out ports this test already used")
	return ""
}

// handedOut holds the addresses freeAddr has returned in this test binary.
var (
	handedOutMu sync.Mutex
	handedOut   = map[string]bool{}
)

func waitFor(t *testing.T, out *lockedBuffer, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the output within %v", s, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
