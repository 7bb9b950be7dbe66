package wsgi_test

// Long streamed responses over real HTTP: later blocks go out through a
// writer that transmits while the app produces the next (interp/stream.go).
// The blocks of rawapp's /stream_long start with their index, so order and
// completeness can be checked byte for byte.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gowsgi/wsgi/interp"
)

// longBody is what /stream_long sends for n blocks of size bytes, with a
// write() block before every every-th block (every 0: none).
func longBody(n, size, every int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		if every > 0 && i > 0 && i%every == 0 {
			fmt.Fprintf(&b, "w%07d", i)
			b.Write(bytes.Repeat([]byte("w"), size-8))
		}
		fmt.Fprintf(&b, "%08d", i)
		b.Write(bytes.Repeat([]byte("."), size-8))
	}
	return b.Bytes()
}

// firstDiff describes where got and want first differ.
func firstDiff(got, want []byte, size int) string {
	for i := 0; i < min(len(got), len(want)); i++ {
		if got[i] != want[i] {
			at := i / size * size
			return fmt.Sprintf("at byte %d (block at %d: got %q, want %q)", i, at,
				got[at:min(at+12, len(got))], want[at:min(at+12, len(want))])
		}
	}
	return fmt.Sprintf("got %d bytes, want %d", len(got), len(want))
}

// readLongBody reads, from conn, the response to a /stream_long request
// for n blocks of size bytes, and checks that all of it arrived, in order.
func readLongBody(t *testing.T, conn net.Conn, n, size int) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Errorf("reading the body: %v (%d of %d bytes)", err, len(body), n*size)
	}
	if want := longBody(n, size, 0); !bytes.Equal(body, want) {
		t.Errorf("body differs %s", firstDiff(body, want, size))
	}
}

// waitNoStreams waits up to 5 s for every stream writer to have ended.
func waitNoStreams(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for interp.Streams().Streams > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("stream writers still running: %+v", interp.Streams())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStreamInOrder(t *testing.T) {
	srv, rec := rawServer(t)
	for _, tc := range []struct {
		name           string
		n, size, every int
	}{
		{"small blocks", 5000, 100, 0},
		{"blocks larger than out", 200, 40 << 10, 0},       // lent to Go, copied once
		{"blocks larger than the queue", 6, 1<<20 + 17, 0}, // written from Python's memory
		{"write() between blocks", 3000, 1000, 7},          // the queue goes first
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newCloseID(t)
			resp, err := client.Get(fmt.Sprintf("%s/stream_long?n=%d&size=%d&write_every=%d&id=%s",
				srv.URL, tc.n, tc.size, tc.every, id))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %s, reading the body: %v (%d bytes)", resp.Status, err, len(body))
			}
			if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
				t.Errorf("Transfer-Encoding %v, want chunked", resp.TransferEncoding)
			}
			if want := longBody(tc.n, tc.size, tc.every); !bytes.Equal(body, want) {
				t.Errorf("body differs %s", firstDiff(body, want, tc.size))
			}
			if r := waitCloses(t, srv.URL, id); r.Closes != 1 || !r.Exhausted {
				t.Errorf("close() called %d times (exhausted %v), want once after the end", r.Closes, r.Exhausted)
			}
		})
	}
	// HEAD: the same iteration, no body, the connection reusable.
	raw := rawExchange(t, hostOf(srv), "HEAD /stream_long?n=300&size=10000&id="+newCloseID(t)+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if _, body := splitRaw(t, raw); body != "" {
		t.Errorf("HEAD sent a body of %d bytes", len(body))
	}
	if text := rec.Text(); bytes.Contains([]byte(text), []byte("Traceback")) {
		t.Errorf("errors logged:\n%s", text)
	}
	waitNoStreams(t)
}

// TestStreamBackpressure streams far more than the queue holds to a client
// that does not read: the app must be held back with the server's queue at
// most StreamQueue, then the client reads everything, in order.
func TestStreamBackpressure(t *testing.T) {
	inProcessOnly(t) // it watches the stream writers of this process
	srv, _ := rawServer(t)
	waitNoStreams(t)
	const n, size = 2048, 16 << 10 // 32 MiB: more than the queue and the sockets' buffers (at most 4 + 6 MiB)
	id := newCloseID(t)
	// The client's receive buffer keeps its default: shrunk below
	// loopback's 64 KiB segments, it stalled the transfer on the zero
	// window probe's back-off (160 KB/s, a 20 s timeout in 1 run of 20).
	conn := rawConn(t, hostOf(srv))
	fmt.Fprintf(conn, "GET /stream_long?n=%d&size=%d&id=%s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", n, size, id)

	// The client reads nothing: the app fills the queue, and waits.
	deadline := time.Now().Add(10 * time.Second)
	for interp.Streams().Blocked == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the app never waited for the writer: %+v", interp.Streams())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := 0; i < 20; i++ {
		st := interp.Streams()
		if st.Streams != 1 || st.Queued > interp.StreamQueue {
			t.Errorf("while the client does not read: %+v, want 1 stream with at most %d bytes queued", st, interp.StreamQueue)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := closes(t, srv.URL, id)
	if r.Produced >= n || r.Closes != 0 {
		t.Errorf("the app produced %d of %d blocks (close() called %d times) for a client that read nothing", r.Produced, n, r.Closes)
	}
	t.Logf("held back at %d of %d blocks, %+v", r.Produced, n, interp.Streams())

	// Now it reads: the whole body arrives, in order.
	readLongBody(t, conn, n, size)
	if r := waitCloses(t, srv.URL, id); r.Closes != 1 || !r.Exhausted {
		t.Errorf("close() called %d times (exhausted %v), want once after the end", r.Closes, r.Exhausted)
	}
	waitNoStreams(t)
	if st := interp.Streams(); st.Queued != 0 || st.Blocked != 0 {
		t.Errorf("after the stream: %+v, want nothing queued", st)
	}
}

// TestStreamClientGone hangs up in the middle of a fast stream: the app's
// iteration stops, close() is called once, and the writer ends.
func TestStreamClientGone(t *testing.T) {
	srv, _ := rawServer(t)
	const n, size = 8192, 8 << 10 // 64 MiB
	id := newCloseID(t)
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	resp, err := c.Get(fmt.Sprintf("%s/stream_long?n=%d&size=%d&id=%s", srv.URL, n, size, id))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100<<10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	if want := longBody(len(buf)/size+1, size, 0)[:len(buf)]; !bytes.Equal(buf, want) {
		t.Errorf("the start of the body differs %s", firstDiff(buf, want, size))
	}
	resp.Body.Close() // hangs up with the app still producing
	r := waitCloses(t, srv.URL, id)
	if r.Closes != 1 {
		t.Errorf("close() called %d times after the client left, want 1", r.Closes)
	}
	if r.Exhausted || r.Produced >= n {
		t.Errorf("the app produced %d of %d blocks (exhausted %v) for a client that left after 100 KiB", r.Produced, n, r.Exhausted)
	}
	waitNoStreams(t)
}

// TestStreamErrorMidStream fails the app after blocks went out: every block
// produced before the error reaches the client, then the connection is cut
// (the headers are out, so no 500), the traceback is logged and close() is
// called once.
func TestStreamErrorMidStream(t *testing.T) {
	srv, rec := rawServer(t)
	const n, size, failAt = 1000, 8 << 10, 300
	id := newCloseID(t)
	resp, err := client.Get(fmt.Sprintf("%s/stream_long?n=%d&size=%d&fail_at=%d&id=%s", srv.URL, n, size, failAt, id))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %s, want the 200 that went out with the first block", resp.Status)
	}
	if err == nil {
		t.Errorf("the client read a complete response of %d bytes after the app failed mid-stream; want it cut off", len(body))
	}
	if want := longBody(failAt, size, 0); !bytes.Equal(body, want) {
		t.Errorf("before the cut: body differs %s", firstDiff(body, want, size))
	}
	rec.waitLog(t, "Traceback (most recent call last)", "RuntimeError: fails mid-stream on purpose")
	if r := waitCloses(t, srv.URL, id); r.Closes != 1 {
		t.Errorf("close() called %d times, want 1", r.Closes)
	}
	waitNoStreams(t)
}
