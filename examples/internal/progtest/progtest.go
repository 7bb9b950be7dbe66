// Package progtest runs the examples' programs for real in their tests:
// built with the go command, started on a free port, stopped with SIGINT
// as Ctrl-C does.
package progtest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/wsgi/internal/syncbuf"
)

// Build builds the packages (import paths or directories, relative to
// dir) into a temporary directory and returns it. It skips the test with
// -short or without a go command.
func Build(t *testing.T, dir string, pkgs ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs programs; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH:", err)
	}
	out := t.TempDir()
	args := append([]string{"build", "-o", out + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, b)
	}
	return out
}

// FreeAddr returns a 127.0.0.1 address with a port free a moment ago.
func FreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Start runs prog in dir (env nil: this process's environment) and returns
// a func that stops it with SIGINT and reports an unclean exit as a test
// error. The test's cleanup stops it too.
func Start(t *testing.T, dir string, env []string, prog string, args ...string) (stop func()) {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Dir, cmd.Env = dir, env
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	name := filepath.Base(prog)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s exited: %v\n%s", name, err, out.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("%s did not stop within 30s of SIGINT\n%s", name, out.String())
		}
	}
	t.Cleanup(stop)
	return stop
}

// WaitUp polls url until the server answers at all, for up to a minute.
func WaitUp(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Environ is this process's environment without the variables named.
func Environ(drop ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, d := range drop {
			if name == d {
				keep = false
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}
