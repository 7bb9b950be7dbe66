package wsgi_test

// Request timeouts (wsgi.WithTimeout, a deadline on the request's
// context): a RequestTimeout raised in the request's Python thread, 504
// when nothing was sent, a cut connection otherwise; and, with worker
// processes, a worker killed for a request stuck in C.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

func TestTimeoutInterruptsPython(t *testing.T) {
	srv, rec := rawServer(t, wsgi.WithTimeout(300*time.Millisecond), wsgi.WithThreads(1))
	resp, body := get(t, srv.URL+"/spin")
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("a request computing forever: %s %q, want 504", resp.Status, body)
	}
	log := rec.waitLog(t, "timed out", "RequestTimeout", "r_spin")
	if strings.Contains(string(body), "Traceback") {
		t.Errorf("the 504 shows the traceback: %q", body)
	}
	// The one thread is free again, and the next request is not hit by a
	// RequestTimeout left pending.
	for i := 0; i < 20; i++ {
		if resp, body := get(t, srv.URL+"/sleep?t=0.001"); resp.StatusCode != 200 {
			t.Fatalf("request %d after the timeout: %s %q\n%s", i, resp.Status, body, log)
		}
	}
}

// TestTimeoutFromContext: a deadline Go middleware put on the request's
// context interrupts Python as WithTimeout does.
func TestTimeoutFromContext(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app")
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 200*time.Millisecond)
		defer cancel()
		app.ServeHTTP(w, r.WithContext(ctx))
	}))
	if resp, body := get(t, srv.URL+"/spin"); resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("past the context's deadline: %s %q, want 504", resp.Status, body)
	}
}

// TestTimeoutInLogging: a RequestTimeout that lands while logging holds
// its locks must not leave them held: logging in the next request
// completes.
func TestTimeoutInLogging(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithTimeout(200*time.Millisecond))
	for i := 0; i < 5; i++ {
		if resp, _ := get(t, srv.URL+"/spin_logging"); resp.StatusCode != http.StatusGatewayTimeout {
			t.Fatalf("round %d: %s, want 504", i, resp.Status)
		}
		done := make(chan *http.Response, 1)
		go func() {
			resp, _ := http.Get(srv.URL + "/log_once")
			if resp != nil {
				resp.Body.Close()
			}
			done <- resp
		}()
		select {
		case resp := <-done:
			if resp == nil || resp.StatusCode != 200 {
				t.Fatalf("round %d: logging after the timeout failed: %v", i, resp)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: logging after a timeout hangs: a lock was left held", i)
		}
	}
}

// TestTimeoutAfterSent: a request that times out after its first block
// is cut short, and its iterable closed.
func TestTimeoutAfterSent(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithTimeout(300*time.Millisecond))
	id := newCloseID(t)
	resp, err := http.Get(srv.URL + "/spin_after_block?id=" + id)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "first\n" || err == nil {
		t.Errorf("got %s %q, err %v; want 200, the first block, then a cut connection", resp.Status, body, err)
	}
	if r := waitCloses(t, srv.URL, id); r.Closes != 1 {
		t.Errorf("close() called %d times, want 1", r.Closes)
	}
}

// TestTimeoutStuckInC: a request blocked in C cannot take the exception;
// with worker processes its worker is killed after the grace period, the
// client gets 504, and another worker takes its place.
func TestTimeoutStuckInC(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for wsgi.HardTimeoutGrace")
	}
	_, url, rec := procServer(t, 1, wsgi.WithTimeout(200*time.Millisecond))
	first := pidOf(t, url)
	start := time.Now()
	resp, _ := get(t, url+"/sleep?s=1000")
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("a request stuck in time.sleep: %s, want 504", resp.Status)
	}
	if took := time.Since(start); took < wsgi.HardTimeoutGrace {
		t.Errorf("answered after %v, before the grace period (%v) was over", took, wsgi.HardTimeoutGrace)
	}
	rec.waitLog(t, "worker process was killed")
	// Until the replacement is ready a request may fail: a 502 from the
	// worker being killed, a 504 when the 200 ms timeout ends before a
	// slow start is over. What must come is a 200 from another process.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body := get(t, url+"/pid")
		if pid, err := strconv.Atoi(string(body)); resp.StatusCode == http.StatusOK && err == nil && pid != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed worker was not replaced: GET /pid: %s %q", resp.Status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTimeoutLostPastDeadline: a request past its deadline whose worker
// is killed for another request stuck in it is answered 504, as it would
// have been had the worker lived, not 502.
func TestTimeoutLostPastDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for wsgi.HardTimeoutGrace")
	}
	_, url, _ := procServer(t, 1, wsgi.WithTimeout(300*time.Millisecond))
	codes := make(chan int, 2)
	for i := 0; i < 2; i++ {
		// The second starts before the first's worker is retired (a
		// second past its deadline) and is past its own deadline when
		// the first's grace ends and the worker is killed.
		go func() {
			code := 0 // no answer
			if resp, err := client.Get(url + "/sleep?s=1000"); err == nil {
				resp.Body.Close()
				code = resp.StatusCode
			}
			codes <- code
		}()
		time.Sleep(500 * time.Millisecond)
	}
	for i := 0; i < 2; i++ {
		if code := <-codes; code != http.StatusGatewayTimeout {
			t.Errorf("a request stuck past its deadline, its worker killed: %d (0: no answer), want 504", code)
		}
	}
}

// TestTimeoutStuckAfterSlowBody: a request whose body came too slowly,
// and which then gets stuck in C, still has its worker killed at its
// deadline plus the grace period, and its client a 504 (net/http ends the
// request's context when the body read times out, before the deadline).
func TestTimeoutStuckAfterSlowBody(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for wsgi.HardTimeoutGrace")
	}
	_, url, rec := procServer(t, 1, wsgi.WithIOTimeout(300*time.Millisecond), wsgi.WithTimeout(600*time.Millisecond))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Past the pre-read size, so the worker reads it as it comes; 10
	// bytes of it, then nothing.
	fmt.Fprintf(conn, "POST /readstuck?s=1000 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789")
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a request stuck after a slow body: %v\n%s", err, rec.Text())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("a request stuck after a slow body: %s, want 504", resp.Status)
	}
	rec.waitLog(t, "worker process was killed")
}

// TestTimeoutSlowDownloadInWorker: a wsgi.file_wrapper response that a
// slow client takes longer than the deadline and the grace period to read
// is not a request stuck in its worker: the worker waits on the server
// process sending the file, so it is neither retired nor killed, and the
// client gets the whole file.
func TestTimeoutSlowDownloadInWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("reads for longer than wsgi.HardTimeoutGrace")
	}
	app, rec := loadApp(t, "rawapp:app", wsgi.WithProcesses(1), wsgi.WithTimeout(300*time.Millisecond))
	srv := serve(t, app)
	const size = 80 << 20 // well past what the sockets between buffer
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/file?path=" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	buf := make([]byte, 256<<10)
	var got int64
	for {
		n, err := io.ReadFull(resp.Body, buf)
		got += int64(n)
		if err != nil {
			break
		}
		// About 8 MiB/s: the whole file takes ~10 s, twice the grace.
		time.Sleep(30 * time.Millisecond)
	}
	took := time.Since(start)
	if got != size {
		t.Errorf("the client got %d of %d bytes in %v", got, size, took)
	}
	if took < wsgi.HardTimeoutGrace {
		t.Logf("the download took %v only: the sockets buffered more than expected", took)
	}
	for _, bad := range []string{"was killed", "recycling worker process"} {
		if strings.Contains(rec.Text(), bad) {
			t.Errorf("a slow download ended in %q:\n%s", bad, rec.Text())
		}
	}
}

// TestTimeoutWaitingOnClient: a request whose app waits for the stream
// writer, behind a client that reads nothing, still ends at its deadline
// (with no I/O timeout to end it first): its iterable is closed while the
// client has not read a byte.
func TestTimeoutWaitingOnClient(t *testing.T) {
	inProcessOnly(t) // it watches the stream writers of this process
	srv, rec := rawServer(t, wsgi.WithTimeout(500*time.Millisecond))
	waitNoStreams(t)
	id := newCloseID(t)
	conn := rawConn(t, hostOf(srv))
	fmt.Fprintf(conn, "GET /stream_long?n=100000&size=16384&id=%s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", id)
	if r := waitCloses(t, srv.URL, id); r.Closes != 1 || r.Exhausted {
		t.Errorf("close() called %d times (exhausted %v), want once, before the end", r.Closes, r.Exhausted)
	}
	rec.waitLog(t, "timed out")
	waitNoStreams(t)
}

// TestTimeoutEndsEndlessCIterator: a streamed body from an iterator written
// in C (itertools.repeat, map) runs no bytecode, so the RequestTimeout
// raised in its thread is never taken there; read by a fast client, it
// must still end at its deadline: tiny blocks, blocks that fit the stream's
// ring, blocks larger than the ring, and blocks slow enough to make (the
// writer then sleeps between them).
func TestTimeoutEndsEndlessCIterator(t *testing.T) {
	srv, rec := rawServer(t, wsgi.WithTimeout(300*time.Millisecond))
	c := &http.Client{Timeout: 30 * time.Second}
	for _, q := range []string{"size=1", "size=10000", "size=300000", "size=200000&slow=1"} {
		t.Run(q, func(t *testing.T) {
			resp, err := c.Get(fmt.Sprintf("%s/endless_c?%s", srv.URL, q))
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Errorf("an endless body ended cleanly after %d bytes; want it cut at its deadline", n)
			}
			if errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
				t.Fatalf("the body was still coming after the client's 30 s (%d bytes): the 300 ms deadline did not end it", n)
			}
		})
	}
	rec.waitLog(t, "timed out")
}

// TestTimeoutDoesNotOutliveItsRequest: a request that ran past its
// deadline must not leave it to the next request on the same thread,
// which has none: that one streams more than the server buffers to a
// client that reads late, and gets all of it.
func TestTimeoutDoesNotOutliveItsRequest(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app", wsgi.WithThreads(1))
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/spin" {
			ctx, cancel := context.WithTimeout(r.Context(), 200*time.Millisecond)
			defer cancel()
			r = r.WithContext(ctx)
		}
		app.ServeHTTP(w, r)
	}))
	if resp, body := get(t, srv.URL+"/spin"); resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("past its deadline: %s %q, want 504", resp.Status, body)
	}
	const n, size = 2048, 16 << 10 // 32 MiB: more than the ring and the sockets' buffers
	conn := rawConn(t, hostOf(srv))
	fmt.Fprintf(conn, "GET /stream_long?n=%d&size=%d&id=%s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", n, size, newCloseID(t))
	time.Sleep(500 * time.Millisecond) // the app fills every buffer and waits for room
	readLongBody(t, conn, n, size)
}

// TestTimeoutCaughtByTheApp: a generator that takes its RequestTimeout and
// catches it may still finish its response: the server raises the timeout
// only in an iterator that never took it.
func TestTimeoutCaughtByTheApp(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithTimeout(300*time.Millisecond))
	resp, body := get(t, srv.URL+"/catch_timeout")
	if resp.StatusCode != 200 || string(body) != "start\ncaught the timeout\n" {
		t.Errorf("%s %q, want 200 and the block the app sent after it caught the timeout", resp.Status, body)
	}
}
