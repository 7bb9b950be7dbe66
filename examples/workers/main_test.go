package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

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
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWorkers: Python answers from worker processes, a crash costs one
// request, and Go goes on serving in its own process.
func TestWorkers(t *testing.T) {
	app, h, err := newServer("app:app", defaultPyDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if app.Processes() != 2 {
		t.Errorf("Processes() = %d, want 2", app.Processes())
	}
	self := fmt.Sprintf("process %d\n", os.Getpid())
	if code, body := get(t, srv.URL+"/"); code != 200 || !strings.HasPrefix(body, "Hello from Python, worker") || strings.HasSuffix(body, self) {
		t.Errorf("GET /: %d %q, want an answer from a worker process", code, body)
	}
	if code, _ := get(t, srv.URL+"/crash"); code != http.StatusBadGateway {
		t.Errorf("GET /crash: %d, want 502", code)
	}
	if code, body := get(t, srv.URL+"/go"); code != 200 || !strings.HasSuffix(body, self) {
		t.Errorf("GET /go: %d %q, want Go in this process", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := get(t, srv.URL+"/"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Python not served after a worker crashed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
