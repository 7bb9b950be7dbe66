package main

// The production flags that bound a request: --limit-request-*, --timeout,
// and gunicorn's syntax for the durations.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawRequest sends req on a new connection to addr and returns the status
// code of the response (0 if the connection ended without one).
func rawRequest(t *testing.T, addr, req string) int {
	t.Helper()
	conn := dialRaw(t, addr)
	defer conn.Close()
	go func() { io.WriteString(conn, req) }() // the server may answer before it has read it all
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// appCalls asks the app how many requests reached it before.
func appCalls(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	_, body := readAll(t, c, base+"/calls")
	return body
}

func headers(n int, size int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "X-H%d: %s\r\n", i, strings.Repeat("v", size))
	}
	return b.String()
}

func chunked(n int) string {
	return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", n, strings.Repeat("b", n))
}

func TestCLIRequestLimits(t *testing.T) {
	addr := freePort(t)
	p := startGowsgi(t, nil, "--bind", addr, "--limit-request-body", "1000", "--limit-request-field-size", "8190",
		"--graceful-timeout", "5", "--keep-alive", "2", "--chdir", appDir, "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	base := "http://" + addr
	waitReady(t, p, c, base+"/")
	before := appCalls(t, c, base)

	for _, tc := range []struct {
		name   string
		req    string
		status int
		app    bool // the request reaches the app
	}{
		{"a request line of 4094 bytes", "GET /" + strings.Repeat("a", 4094-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: x\r\n\r\n", 200, true},
		{"a request line of 4095 bytes", "GET /" + strings.Repeat("a", 4095-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, false},
		{"a 100 KB request line", "GET /?" + strings.Repeat("q", 100<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, false},
		{"100 header fields with Host", "GET / HTTP/1.1\r\nHost: x\r\n" + headers(99, 4) + "\r\n", 200, true},
		{"101 header fields with Host", "GET / HTTP/1.1\r\nHost: x\r\n" + headers(100, 4) + "\r\n", 431, false},
		{"10,000 header fields", "GET / HTTP/1.1\r\nHost: x\r\n" + headers(10000, 4) + "\r\n", 431, false},
		{"a header field of 8190 bytes", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("v", 8190-len("X-Big: ")) + "\r\n\r\n", 200, true},
		{"a header field of 8191 bytes", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("v", 8191-len("X-Big: ")) + "\r\n\r\n", 431, false},
		{"a 200 KB header value", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("v", 200<<10) + "\r\n\r\n", 431, false},
		{"a body of 1000 bytes", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("b", 1000), 200, true},
		{"a body of 1001 bytes", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n" + strings.Repeat("b", 1001), 413, false},
		{"a chunked body of 1000 bytes", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(1000), 200, true},
		// The app reads past the cap: its read fails, and the error it
		// lets escape becomes 413.
		{"a chunked body of 5000 bytes", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(5000), 413, true},
		{"the HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := appCalls(t, c, base)
			if got := rawRequest(t, addr, tc.req); got != tc.status {
				t.Errorf("status %d, want %d", got, tc.status)
			}
			after := appCalls(t, c, base)
			// appCalls itself is one call.
			want := fmt.Sprint(mustAtoi(t, before) + 1)
			if tc.app {
				want = fmt.Sprint(mustAtoi(t, before) + 2)
			}
			if after != want {
				t.Errorf("the app was called %d times for it, want %v", mustAtoi(t, after)-mustAtoi(t, before)-1, tc.app)
			}
		})
	}
	if t.Failed() {
		t.Logf("calls before the table: %s", before)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// TestCLINoLimits: 0 lifts each bound, as in gunicorn.
func TestCLINoLimits(t *testing.T) {
	addr := freePort(t)
	p := startGowsgi(t, nil, "--bind", addr, "--limit-request-line", "0", "--limit-request-fields", "0",
		"--limit-request-field_size", "0", "--chdir", appDir, "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	waitReady(t, p, c, "http://"+addr+"/")
	for name, req := range map[string]string{
		"a 100 KB request line": "GET /?" + strings.Repeat("q", 100<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n",
		"1,000 header fields":   "GET / HTTP/1.1\r\nHost: x\r\n" + headers(1000, 4) + "\r\n",
		"a 100 KB header value": "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("v", 100<<10) + "\r\n\r\n",
	} {
		if got := rawRequest(t, addr, req); got != 200 {
			t.Errorf("%s: status %d with the limit at 0, want 200", name, got)
		}
	}
}

// TestCLITimeout: --timeout in gunicorn's seconds interrupts a request
// that computes past it: 504, and the server serves on.
func TestCLITimeout(t *testing.T) {
	for _, workers := range []string{"1", "2"} {
		t.Run("workers="+workers, func(t *testing.T) {
			addr := freePort(t)
			p := startGowsgi(t, nil, "--bind", addr, "--timeout", "1", "--workers", workers, "--chdir", appDir, "app:app")
			c := &http.Client{Timeout: 30 * time.Second}
			base := "http://" + addr
			waitReady(t, p, c, base+"/")
			resp, _ := readAll(t, c, base+"/spin?20")
			if resp.StatusCode != http.StatusGatewayTimeout {
				t.Errorf("a 20 s computation under --timeout 1: %s, want 504", resp.Status)
			}
			if resp, body := readAll(t, c, base+"/spin?0.1"); resp.StatusCode != 200 || body != "spun\n" {
				t.Errorf("a request within the timeout after one past it: %s %q", resp.Status, body)
			}
			if !strings.Contains(p.stderr.String(), "timed out") {
				t.Errorf("no log line for the request that timed out")
			}
		})
	}
}

// TestCLIBadDurations: a value that is neither seconds nor a duration is
// refused with a message that says which flag and what it takes.
func TestCLIBadDurations(t *testing.T) {
	for _, args := range [][]string{
		{"--timeout", "soon"},
		{"--graceful-timeout", "-1"},
		{"--umask", "999"},
	} {
		_, err := parseFlags(append(args, "app:app"), io.Discard)
		if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(args[0], "--")) {
			t.Errorf("%v: %v, want an error naming the flag", args, err)
		}
	}
	cfg, err := parseFlags([]string{"--timeout", "90", "--graceful-timeout", "1m30s", "--keep-alive", "2.5", "--umask", "007", "app:app"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(cfg.timeout) != 90*time.Second || time.Duration(cfg.graceful) != 90*time.Second ||
		time.Duration(cfg.keepAlive) != 2500*time.Millisecond || cfg.umask != 0o7 {
		t.Errorf("parsed %v %v %v %o", cfg.timeout, cfg.graceful, cfg.keepAlive, cfg.umask)
	}
}

// TestCLIMaxQueue: --max-queue 1 with one thread: a request that finds one
// running and one waiting is answered 503 with Retry-After at once. The
// two are uploads: the first holds the thread (a large body that stalls,
// read by the app), the second, whole, waits for it.
// Each is sent only once the server shows it has the one before: a GET
// that is neither answered nor refused within its client timeout is
// waiting for the thread.
func TestCLIMaxQueue(t *testing.T) {
	addr := freePort(t)
	p := startGowsgi(t, nil, "--bind", addr, "--threads", "1", "--fixed-threads", "--max-queue", "1", "--chdir", appDir, "app:app")
	waitReady(t, p, http.DefaultClient, "http://"+addr+"/")
	c := &http.Client{Timeout: 300 * time.Millisecond}
	upload := func(size int) net.Conn {
		conn := dialRaw(t, addr)
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n0123456789", size)
		return conn
	}

	// The first upload holds the thread: until it does, a GET is served.
	upload(1 << 20)
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			break // it waited for the thread
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("one upload in flight under --max-queue 1: %s, want 200 or a wait", resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatal("the stalled upload never held the only thread")
		}
	}

	// The second waits for the thread: from then on a GET is refused.
	second := upload(10)
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := c.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
				return
			}
			t.Fatalf("the thread held and one waiting, past --max-queue 1: %s %v, want 503 with Retry-After", resp.Status, resp.Header)
		}
		// The second upload is not counted yet: this GET took the
		// queue's one place, and left it when its client gave up. Or
		// the upload came while a GET before it still held that place,
		// and was refused itself (whole, so that its 503 is not held
		// back until its body is read): send it again.
		second.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		buf := make([]byte, 64)
		if n, _ := second.Read(buf); n > 0 {
			if !strings.Contains(string(buf[:n]), " 503 ") {
				t.Fatalf("the upload waiting for the thread was answered: %q", buf[:n])
			}
			second = upload(10)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 503 with Retry-After past --max-queue 1: %v", err)
		}
	}
}
