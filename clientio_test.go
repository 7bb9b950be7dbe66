package wsgi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

// TestIOTimeoutSlowUpload: an upload that stalls, before the app runs (a
// small body, read first) or while it reads (a large one), is answered
// 408 once WithIOTimeout passes, and the one Python thread is free for
// the next request.
func TestIOTimeoutSlowUpload(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithIOTimeout(300*time.Millisecond), wsgi.WithFixedThreads(1))
	for _, tc := range []struct {
		id   string
		size int // declared; the client sends 1000 bytes of it
		runs int // how many times the app counted the request
	}{
		{"stall_preread", 10 << 10, 0},
		{"stall_stream", 1 << 20, 0},
	} {
		head := fmt.Sprintf("POST /count?id=%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", tc.id, tc.size)
		if got := send(t, srv.URL, head+strings.Repeat("b", 1000)); got != http.StatusRequestTimeout {
			t.Errorf("%s: status %d, want 408", tc.id, got)
		}
		// The slot is free again: this request runs.
		if n := calls(t, srv.URL, tc.id); n != tc.runs {
			t.Errorf("%s: the app ran to the end %d times, want %d", tc.id, n, tc.runs)
		}
	}

	// An app that catches the error can say why.
	head := "POST /readerr HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n"
	conn, _ := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(conn, head+strings.Repeat("b", 1000))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if want := "OSError: wsgi.input: the client sent the request body too slowly (timed out)\n"; string(body) != want {
		t.Errorf("/readerr after a stall: %q, want %q", body, want)
	}
}

// TestIOTimeoutTrickle: a body that keeps coming, a byte at a time, is
// cut at the request's deadline (WithTimeout), not only when a read
// stalls.
func TestIOTimeoutTrickle(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithIOTimeout(10*time.Second), wsgi.WithTimeout(500*time.Millisecond), wsgi.WithFixedThreads(1))
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(conn, "POST /count?id=trickle HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n")
	answered := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- 0
			return
		}
		answered <- resp.StatusCode
	}()
	// 1 MiB at 100 bytes a second would take three hours.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case status := <-answered:
			if status != http.StatusRequestTimeout && status != http.StatusGatewayTimeout {
				t.Errorf("a trickling upload got %d, want 408 or 504", status)
			}
			if n := calls(t, srv.URL, "trickle"); n != 0 {
				t.Errorf("the app read the whole trickled body %d times", n)
			}
			return
		case <-tick.C:
			if _, err := conn.Write([]byte("b")); err != nil {
				t.Fatalf("the server closed without an answer: %v", err)
			}
		}
	}
}

// TestIOTimeoutNonReader: a client that stops reading a streamed response
// ends it once a write waits WithIOTimeout: the app's iterable is closed
// before its end, and the Python thread is free.
func TestIOTimeoutNonReader(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithIOTimeout(300*time.Millisecond), wsgi.WithFixedThreads(1))
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /tracked?id=nonreader&mode=flood HTTP/1.1\r\nHost: x\r\n\r\n")
	// Read the head, then nothing.
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("status line %q %v", line, err)
	}
	// Waits for the write to time out: the next request needs the thread.
	var v struct {
		Closes    int
		Exhausted bool
	}
	getJSON(t, srv.URL+"/closes?id=nonreader", &v)
	if v.Closes != 1 || v.Exhausted {
		t.Errorf("the flood's iterable: closed %d times, ran to its end %v; want closed once, early", v.Closes, v.Exhausted)
	}
}
