package main

// The sockets gowsgi listens on: --backlog, --reuse-port, and sockets
// passed by systemd (socket activation).

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"

	"github.com/gowsgi/wsgi/internal/syncbuf"
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
	out := &syncbuf.Buffer{}
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

// TestCLIProxyProtocol: with --proxy-protocol, the address in a PROXY
// header (v1 or v2) from an allowed peer is REMOTE_ADDR; a connection
// without one is served as it is; a header from a peer not in
// --proxy-allow-from is refused before the app (400, as gunicorn).
func TestCLIProxyProtocol(t *testing.T) {
	addr := freePort(t)
	p := startGowsgi(t, nil, "--proxy-protocol", "--proxy-allow-from", "127.0.0.1", "--bind", addr, "--chdir", appDir, "app:app")
	waitReady(t, p, http.DefaultClient, "http://"+addr+"/")

	v2 := &proxyproto.Header{Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
		SourceAddr:      &net.TCPAddr{IP: net.ParseIP("198.51.100.9"), Port: 4242},
		DestinationAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8000}}
	v2bytes, err := v2.Format()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		from   string // local address to connect from
		header string
		want   string // REMOTE_ADDR, or "" for refused
	}{
		{"v1", "127.0.0.1", "PROXY TCP4 203.0.113.7 127.0.0.1 5555 8000\r\n", "203.0.113.7"},
		{"v1 IPv6", "127.0.0.1", "PROXY TCP6 2001:db8::1 ::1 5555 8000\r\n", "2001:db8::1"},
		{"v2", "127.0.0.1", string(v2bytes), "198.51.100.9"},
		{"none", "127.0.0.1", "", "127.0.0.1"},
		{"v1 from a peer not allowed", "127.0.0.2", "PROXY TCP4 203.0.113.7 127.0.0.1 5555 8000\r\n", ""},
		{"none from a peer not allowed", "127.0.0.2", "", "127.0.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tc.from)}}
			conn, err := d.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(conn, tc.header+"GET /environ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if tc.want == "" {
				if err == nil && resp.StatusCode != http.StatusBadRequest {
					t.Errorf("a PROXY header from %s was answered %s; want 400 or the connection closed", tc.from, resp.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			var env struct {
				RemoteAddr string `json:"REMOTE_ADDR"`
			}
			jsonUnmarshal(t, string(body), &env)
			if env.RemoteAddr != tc.want {
				t.Errorf("REMOTE_ADDR %q, want %q", env.RemoteAddr, tc.want)
			}
		})
	}
}
