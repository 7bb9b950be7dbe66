package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
	"github.com/gowsgi/wsgi/examples/internal/progtest"
)

// One test binary is one process, so one Python interpreter: it is
// finalized once, after every test.
func TestMain(m *testing.M) {
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wsgi.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "wsgi.Shutdown:", err)
		code = 1
	}
	os.Exit(code)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestHello(t *testing.T) {
	h, err := newServer(".")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/", 200, "Hello from Python!\nSCRIPT_NAME='' PATH_INFO='/'\n"},
		{"/go", 200, "Hello from Go!\n"},
		{"/missing", 404, "not found\n"},
	} {
		status, body := get(t, srv.URL+tc.path)
		if status != tc.status || body != tc.want {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path, status, body, tc.status, tc.want)
		}
	}
}

// TestCommands runs the README's commands for real: the gowsgi command on
// app.py, and this program built from its source, each started from the
// repository root.
func TestCommands(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := progtest.Build(t, root, "./cmd/gowsgi", "./examples/hello")

	t.Run("gowsgi", func(t *testing.T) {
		addr := progtest.FreeAddr(t)
		progtest.Start(t, root, nil, filepath.Join(bin, "gowsgi"), "--chdir", "examples/hello", "--bind", addr, "app:app")
		progtest.WaitUp(t, "http://"+addr+"/")
		if status, body := get(t, "http://"+addr+"/"); status != 200 || !strings.HasPrefix(body, "Hello from Python!") {
			t.Errorf("gowsgi: GET / = %d %q", status, body)
		}
	})
	t.Run("hello", func(t *testing.T) {
		addr := progtest.FreeAddr(t)
		// Started from the root, as `go run ./examples/hello` is; it finds
		// app.py by itself.
		progtest.Start(t, root, nil, filepath.Join(bin, "hello"), "-addr", addr)
		progtest.WaitUp(t, "http://"+addr+"/")
		if status, body := get(t, "http://"+addr+"/"); status != 200 || !strings.HasPrefix(body, "Hello from Python!") {
			t.Errorf("hello: GET / = %d %q", status, body)
		}
		if status, body := get(t, "http://"+addr+"/go"); status != 200 || body != "Hello from Go!\n" {
			t.Errorf("hello: GET /go = %d %q", status, body)
		}
	})
}
