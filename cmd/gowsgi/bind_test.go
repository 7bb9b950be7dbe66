package main

// --bind unix:PATH with a front web server's user in mind: the socket's
// mode (--umask), a live server's socket never taken over, a stale one
// replaced; and --pid.

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func unixClient(sock string) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
}

func shortTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "gw") // socket paths are limited to ~108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestCLIUnixSocketMode(t *testing.T) {
	for _, tc := range []struct {
		args []string
		mode os.FileMode
	}{
		{nil, 0o777}, // gunicorn's --umask 0: nginx as www-data may connect
		{[]string{"--umask", "007"}, 0o770},
		{[]string{"--umask", "0o077"}, 0o700},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			sock := filepath.Join(shortTempDir(t), "s.sock")
			args := append([]string{"--bind", "unix:" + sock, "--chdir", appDir}, tc.args...)
			p := startGowsgi(t, nil, append(args, "app:app")...)
			waitReady(t, p, unixClient(sock), "http://gowsgi/")
			fi, err := os.Stat(sock)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tc.mode {
				t.Errorf("socket mode %v, want %v", fi.Mode().Perm(), tc.mode)
			}
			p.cmd.Process.Signal(syscall.SIGTERM)
			p.wait(t, 30*time.Second)
		})
	}
}

func TestCLIUnixSocketInUse(t *testing.T) {
	dir := shortTempDir(t)
	sock := filepath.Join(dir, "s.sock")
	pidFile := filepath.Join(dir, "gowsgi.pid")
	first := startGowsgi(t, nil, "--bind", "unix:"+sock, "--pid", pidFile, "--chdir", appDir, "app:app")
	c := unixClient(sock)
	waitReady(t, first, c, "http://gowsgi/")
	b, err := os.ReadFile(pidFile)
	if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || pid != first.cmd.Process.Pid {
		t.Errorf("--pid file holds %q (%v), want %d", b, err, first.cmd.Process.Pid)
	}

	second := startGowsgi(t, nil, "--bind", "unix:"+sock, "--chdir", appDir, "app:app")
	if code := second.wait(t, 30*time.Second); code == 0 {
		t.Errorf("a second server on the same socket path exited 0")
	}
	if out := second.stderr.String(); !strings.Contains(out, "another server is listening") {
		t.Errorf("the second server's error does not say why:\n%s", out)
	}
	c.CloseIdleConnections()
	if resp, body := readAll(t, c, "http://gowsgi/"); resp.StatusCode != 200 || body != "cli ok\n" {
		t.Errorf("the first server after the second's attempt: %s %q", resp.Status, body)
	}

	first.cmd.Process.Signal(syscall.SIGTERM)
	if code := first.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	for _, f := range []string{sock, pidFile} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s left behind after exit (stat: %v)", f, err)
		}
	}
}

// TestCLIUnixSocketStale: the socket file of a server that was killed is
// replaced.
func TestCLIUnixSocketStale(t *testing.T) {
	sock := filepath.Join(shortTempDir(t), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // the file stays; nothing listens
	p := startGowsgi(t, nil, "--bind", "unix:"+sock, "--chdir", appDir, "app:app")
	waitReady(t, p, unixClient(sock), "http://gowsgi/")

	notSock := filepath.Join(shortTempDir(t), "file")
	os.WriteFile(notSock, []byte("data"), 0o644)
	q := startGowsgi(t, nil, "--bind", "unix:"+notSock, "--chdir", appDir, "app:app")
	if code := q.wait(t, 30*time.Second); code == 0 || !strings.Contains(q.stderr.String(), "not a socket") {
		t.Errorf("--bind unix: on a regular file: exit %d, output:\n%s", code, q.stderr.String())
	}
	if b, _ := os.ReadFile(notSock); string(b) != "data" {
		t.Errorf("the regular file was changed: %q", b)
	}
}
