package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
	"github.com/gowsgi/wsgi/internal/syncbuf"
)

// One test binary is one process, so one Python interpreter; the three
// apps share it and it is finalized once, after every test.
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

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
	serverLogs = &syncbuf.Buffer{}
)

// server starts the program once for all tests: the apps load once per
// process.
func server(t *testing.T) string {
	t.Helper()
	serverOnce.Do(func() {
		h, err := newServer(".", slog.New(slog.NewTextHandler(serverLogs, nil)))
		if err != nil {
			serverErr = err
			return
		}
		serverURL = httptest.NewServer(h).URL // lives until the process ends
	})
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", serverLogs.String())
		}
	})
	return serverURL
}

func eachFramework(t *testing.T, f func(t *testing.T, base, name string)) {
	url := server(t)
	for _, m := range mounts {
		t.Run(m.Framework, func(t *testing.T) {
			f(t, url+strings.TrimSuffix(m.Prefix, "/"), strings.ToLower(m.Framework))
		})
	}
}

// TestRouting: each app routes under its mount prefix and builds URLs that
// include it.
func TestRouting(t *testing.T) {
	eachFramework(t, func(t *testing.T, base, name string) {
		prefix := strings.TrimPrefix(base, serverURL)
		resp, err := http.Get(base + "/hello/gopher")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("status %s\n%s", resp.Status, b)
		}
		var v map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"framework":   name,
			"greeting":    "hello, gopher",
			"script_name": prefix,
			"path_info":   "/hello/gopher",
			"self":        prefix + "/hello/gopher",
			"self_url":    base + "/hello/gopher",
			"echo":        prefix + "/echo",
		}
		for k, w := range want {
			if v[k] != w {
				t.Errorf("%s = %q, want %q", k, v[k], w)
			}
		}

		// A path outside the app's routes is the app's own 404.
		resp2, err := http.Get(base + "/no/such/route")
		if err != nil {
			t.Fatal(err)
		}
		resp2.Body.Close()
		if resp2.StatusCode != 404 {
			t.Errorf("unrouted path: %s, want 404", resp2.Status)
		}
	})
}

// TestPostBody: a POST body reaches the app whole, small (read before the
// request takes a Python thread) or large (streamed into wsgi.input).
func TestPostBody(t *testing.T) {
	eachFramework(t, func(t *testing.T, base, name string) {
		for _, size := range []int{0, 11, 200 << 10} {
			body := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
			resp, err := http.Post(base+"/echo", "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := append([]byte(fmt.Sprintf("%s got %d bytes of application/octet-stream: ", name, size)), body...)
			if resp.StatusCode != 200 || !bytes.Equal(got, want) {
				t.Errorf("POST %d bytes: %s, %d bytes back (%.60q…), want 200 and %.60q…", size, resp.Status, len(got), got, want)
			}
		}
		// A chunked body, without Content-Length.
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < 4; i++ {
				fmt.Fprintf(pw, "part %d;", i)
			}
			pw.Close()
		}()
		resp, err := http.Post(base+"/echo", "text/plain", pr)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := name + " got 28 bytes of text/plain: part 0;part 1;part 2;part 3;"; string(got) != want {
			t.Errorf("chunked POST: %s %q, want %q", resp.Status, got, want)
		}
	})
}

// TestStream: a generator body arrives block by block as it is made.
func TestStream(t *testing.T) {
	eachFramework(t, func(t *testing.T, base, name string) {
		t.Parallel()
		start := time.Now()
		resp, err := http.Get(base + "/stream?n=4&delay=0.25")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != -1 {
			t.Fatalf("status %s, Content-Length %d: want 200, streamed", resp.Status, resp.ContentLength)
		}
		br := bufio.NewReader(resp.Body)
		var at []time.Duration
		for i := 0; ; i++ {
			line, err := br.ReadString('\n')
			if err == io.EOF && line == "" {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("%s block %d\n", name, i); line != want {
				t.Errorf("block %d = %q, want %q", i, line, want)
			}
			at = append(at, time.Since(start))
		}
		if len(at) != 4 {
			t.Fatalf("%d blocks, want 4", len(at))
		}
		// Block 0 is made at once, block 3 after 0.75s: streamed, they
		// arrive that far apart; buffered, together.
		if spread := at[3] - at[0]; spread < 500*time.Millisecond {
			t.Errorf("blocks arrived within %v: buffered, not streamed (%v)", spread, at)
		}
	})
}

func TestIndex(t *testing.T) {
	resp, err := http.Get(server(t) + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range mounts {
		if !bytes.Contains(b, []byte(`href="`+m.Prefix+`hello/world"`)) {
			t.Errorf("index lacks a link to %s:\n%s", m.Prefix, b)
		}
	}
}
