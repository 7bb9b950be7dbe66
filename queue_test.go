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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gowsgi/wsgi"
)

// TestMaxQueue: with one thread and WithMaxQueue(2), a request that finds
// one running and two waiting is answered 503 with Retry-After at once;
// the three it found all finish.
func TestMaxQueue(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app", wsgi.WithFixedThreads(1), wsgi.WithMaxQueue(2))
	srv := serve(t, app)
	addr := strings.TrimPrefix(srv.URL, "http://")
	// Three uploads that wait for the rest of their bodies: the first
	// holds the thread (a large body, read by the app), the others are
	// counted while their small bodies are read before they queue.
	type upload struct {
		conn net.Conn
		rest string
	}
	var ups []upload
	for i, size := range []int{1 << 20, 1000, 1000} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		fmt.Fprintf(conn, "POST /count?id=queue%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", i, size, strings.Repeat("b", 10))
		ups = append(ups, upload{conn, strings.Repeat("b", size-10)})
	}

	// Once the server has counted the three, the fourth is refused.
	waitInFlight(t, app, 3)
	resp, body := get(t, srv.URL+"/environ")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("one running and two waiting under WithMaxQueue(2): %s %q, Retry-After %q; want 503 with Retry-After",
			resp.Status, body, resp.Header.Get("Retry-After"))
	}

	for i, u := range ups {
		io.WriteString(u.conn, u.rest)
		resp, err := http.ReadResponse(bufio.NewReader(u.conn), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("upload %d: %v %v", i, resp, err)
		}
	}
}

func TestQueueTimeout(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app", wsgi.WithThreads(1), wsgi.WithQueueTimeout(100*time.Millisecond))
	srv := serve(t, app)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := client.Get(srv.URL + "/sleep?t=1")
		if err == nil {
			resp.Body.Close()
		}
	}()
	// The one slot is taken once the request is counted in flight (it
	// takes the slot straight after, with nothing to read first).
	waitInFlight(t, app, 1)
	resp, body := get(t, srv.URL+"/sleep?t=0")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("with the only thread busy: got %s (Retry-After %q) %q, want 503 with Retry-After",
			resp.Status, resp.Header.Get("Retry-After"), body)
	}
	<-done
}

// waitInFlight waits until app's gowsgi_requests_in_flight, the count its
// queue bound goes by, is n.
func waitInFlight(t *testing.T, app *wsgi.App, n float64) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(app)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if v := gather(t, reg)["gowsgi_requests_in_flight"].GetMetric()[0].GetGauge().GetValue(); v == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gowsgi_requests_in_flight never reached %v", n)
		}
	}
}
