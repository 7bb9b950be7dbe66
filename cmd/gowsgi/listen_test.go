package main

// The sockets gowsgi listens on: --backlog, --reuse-port, and sockets
// passed by systemd (socket activation).

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCLIBacklog: --backlog is the listen queue the kernel keeps (ss shows
// it as the listening socket's Send-Q).
func TestCLIBacklog(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("no ss (scripts/install-deps.sh installs iproute2)")
	}
	for _, backlog := range []string{"", "77"} {
		addr := freePort(t)
		args := []string{"--bind", addr, "--chdir", appDir, "app:app"}
		if backlog != "" {
			args = append([]string{"--backlog", backlog}, args...)
		}
		p := startGowsgi(t, nil, args...)
		waitReady(t, p, http.DefaultClient, "http://"+addr+"/")
		out, err := exec.Command("ss", "-ltnH", "sport = :"+addr[strings.LastIndex(addr, ":")+1:]).Output()
		if err != nil {
			t.Fatal(err)
		}
		want := backlog
		if want == "" {
			want = "2048" // gunicorn's default
		}
		if f := strings.Fields(string(out)); len(f) < 3 || f[2] != want {
			t.Errorf("--backlog %q: ss says %q, want a queue of %s", backlog, out, want)
		}
	}
}

// TestCLIReusePort: with --reuse-port two servers share a port (and both
// answer); without, the second says the port is taken.
func TestCLIReusePort(t *testing.T) {
	addr := freePort(t)
	first := startGowsgi(t, nil, "--reuse-port", "--bind", addr, "--chdir", appDir, "app:app")
	waitReady(t, first, http.DefaultClient, "http://"+addr+"/")

	refused := startGowsgi(t, nil, "--bind", addr, "--chdir", appDir, "app:app")
	if code := refused.wait(t, 20*time.Second); code != 1 || !strings.Contains(refused.stderr.String(), "give both --reuse-port") {
		t.Errorf("a second server without --reuse-port: exit %d, want 1 and a hint; output:\n%s", code, refused.stderr.String())
	}

	second := startGowsgi(t, nil, "--reuse-port", "--bind", addr, "--chdir", appDir, "app:app")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(second.stderr.String(), "msg=listening") {
		if second.exited() || time.Now().After(deadline) {
			t.Fatalf("a second server with --reuse-port did not start:\n%s", second.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The kernel spreads new connections over both: each answers some.
	pids := map[int]bool{}
	for i := 0; i < 200 && len(pids) < 2; i++ {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		_, body := readAll(t, c, "http://"+addr+"/environ")
		var env struct{ Pid int }
		jsonUnmarshal(t, body, &env)
		pids[env.Pid] = true
	}
	if len(pids) != 2 {
		t.Errorf("200 connections reached %d server(s), want both", len(pids))
	}
}

// TestCLISocketActivation: started by systemd-socket-activate (as by a
// .socket unit), gowsgi serves the socket it is passed, not --bind.
func TestCLISocketActivation(t *testing.T) {
	activate, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("no systemd-socket-activate (scripts/install-deps.sh installs systemd)")
	}
	addr, unused := freePort(t), freePort(t)
	cmd := exec.Command(activate, "--listen", addr, binary, "--bind", unused, "--chdir", appDir, "app:app")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Listening on") {
		if time.Now().After(deadline) {
			t.Fatal("systemd-socket-activate did not listen within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// systemd-socket-activate starts gowsgi at the first connection, which
	// then waits in the queue until the app is loaded.
	_, body := readAll(t, &http.Client{Timeout: 30 * time.Second}, "http://"+addr+"/")
	if body != "cli ok\n" {
		t.Errorf("through the passed socket: %q", body)
	}
	if !strings.Contains(out.String(), "serving the sockets systemd passed") {
		t.Errorf("gowsgi did not say it serves systemd's socket:\n%s", out.String())
	}
	if _, err := http.Get("http://" + unused + "/"); err == nil {
		t.Errorf("--bind %s is served too; with systemd's sockets it is not used", unused)
	}
}

func jsonUnmarshal(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%q: %v", body, err)
	}
}
