package wsgi_test

// Behaviours of DESIGN.md beyond the list: list bodies and their
// Content-Length, 204/304, write() streaming and a client leaving during
// write(), file_wrapper offsets and lengths, oversized headers, a failing
// close(), one Python thread per request, App.Close.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

func TestListBody(t *testing.T) {
	srv, _ := validatedServer(t)
	raw, _ := rawServer(t)
	want := strings.Repeat("a", 100) + strings.Repeat("b", 40000) + strings.Repeat("c", 10) +
		strings.Repeat("d", 33000) + strings.Repeat("e", 20000) + "f"
	for _, url := range []string{srv.URL + "/list_body", raw.URL + "/list_body", raw.URL + "/list_body?tuple=1"} {
		resp, body := get(t, url)
		if string(body) != want {
			t.Errorf("%s: body of %d bytes, want the %d bytes of the blocks in order", url, len(body), len(want))
		}
		if strings.Contains(url, raw.URL) && resp.ContentLength != int64(len(want)) {
			// A list body is known whole: the server can declare its length.
			t.Errorf("%s: Content-Length %d, want %d for a list body", url, resp.ContentLength, len(want))
		}
	}
}

func TestNoBodyStatuses(t *testing.T) {
	srv, _ := rawServer(t)
	for _, code := range []string{"204", "304"} {
		raw := rawExchange(t, hostOf(srv), "GET /no_body_status?code="+code+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		head, body := splitRaw(t, raw)
		if !strings.HasPrefix(head, "HTTP/1.1 "+code+" ") || !strings.Contains(head, "X-Code: "+code) {
			t.Errorf("%s: header\n%s", code, head)
		}
		if body != "" {
			t.Errorf("%s response carries a body: %q", code, body)
		}
	}
}

func TestWriteStreams(t *testing.T) {
	srv, _ := validatedServer(t)
	req, _ := http.NewRequest("GET", srv.URL+"/write_stream?delay=0.4", nil)
	checkStreamed(t, client, req, 0.4)
}

func TestClientGoneDuringWrite(t *testing.T) {
	srv, _ := rawServer(t)
	id := newCloseID(t)
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	resp, err := c.Get(srv.URL + "/write_gone?id=" + id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 2048)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r := waitCloses(t, srv.URL, id)
	if r.Reraised == nil {
		t.Fatal("write() never raised to the app after the client left (it wrote 500 blocks into the void)")
	}
	if r.Closes != 1 {
		t.Errorf("close() called %d times, want 1", r.Closes)
	}
	var res struct{ Result *string }
	getJSON(t, srv.URL+"/thread_result?key="+id, &res)
	if res.Result == nil || !strings.HasPrefix(*res.Result, "OSError") {
		t.Errorf("write() raised %v, want an OSError", res.Result)
	}
}

func TestFileWrapperOffsetsAndLengths(t *testing.T) {
	data := make([]byte, 100<<10)
	for i := range data {
		data[i] = byte(i % 253)
	}
	path := t.TempDir() + "/f.bin"
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	srv, rec := rawServer(t)
	for _, tc := range []struct {
		query  string
		want   []byte
		length int64
	}{
		{"offset=100", data[100:], int64(len(data) - 100)},
		{"length=none", data, -1},
		{"offset=5&length=none", data[5:], -1},
		{"length=short", data[:1000], 1000},
	} {
		resp, body := get(t, srv.URL+"/file?path="+path+"&"+tc.query)
		if string(body) != string(tc.want) {
			t.Errorf("%s: %d bytes, want %d (equal: false)", tc.query, len(body), len(tc.want))
		}
		if resp.ContentLength != tc.length {
			t.Errorf("%s: Content-Length %d, want %d", tc.query, resp.ContentLength, tc.length)
		}
	}
	if strings.Contains(rec.Text(), "Traceback") {
		t.Errorf("errors logged:\n%s", rec.Text())
	}
}

func TestOversizedHeaders(t *testing.T) {
	srv, rec := rawServer(t)
	resp, body := get(t, srv.URL+"/big_header")
	// Either sent whole or refused with a clean 500; never a broken reply.
	switch {
	case resp.StatusCode == 200:
		if len(resp.Header.Get("X-Big")) != 40000 || string(body) != "big header" {
			t.Errorf("X-Big of %d bytes, body %q", len(resp.Header.Get("X-Big")), body)
		}
	case resp.StatusCode == 500:
		want500(t, resp, body)
		rec.waitLog(t, "/big_header")
	default:
		t.Errorf("status %s", resp.Status)
	}
}

func TestCloseRaises(t *testing.T) {
	srv, rec := rawServer(t)
	// With a Content-Length and without one (chunked): a close() failing
	// after the whole body was produced is logged, and the client still
	// gets the complete response.
	for _, path := range []string{"/close_raises", "/close_raises_chunked"} {
		id := newCloseID(t)
		resp, body := get(t, srv.URL+path+"?id="+id)
		if resp.StatusCode != 200 || string(body) != "complete body" {
			t.Errorf("%s: got %s %q, want the complete body the app produced", path, resp.Status, body)
		}
		rec.waitLog(t, "RuntimeError: close() failed on purpose")
		if r := waitCloses(t, srv.URL, id); r.Closes != 1 {
			t.Errorf("%s: close() called %d times, want 1", path, r.Closes)
		}
	}
	// The server is fine afterwards.
	if resp, _ := get(t, srv.URL+"/head"); resp.StatusCode != 200 {
		t.Errorf("next request: %s", resp.Status)
	}
}

// TestOnePythonThreadPerRequest checks that the app call, every next() and
// close() of one request run on one Python thread (threading.local works,
// as Django's per-thread connections need), with goroutines free to move.
func TestOnePythonThreadPerRequest(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithThreads(8))
	var wg sync.WaitGroup
	ids := make([]string, 24)
	for i := range ids {
		ids[i] = newCloseID(t)
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			resp, err := client.Get(srv.URL + "/thread_check?id=" + id)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}(ids[i])
	}
	wg.Wait()
	for _, id := range ids {
		var r struct{ Result any }
		deadline := time.Now().Add(5 * time.Second)
		for {
			getJSON(t, srv.URL+"/thread_result?key="+id, &r)
			if r.Result != nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if r.Result != float64(1) {
			t.Errorf("request %s ran on %v Python threads (or lost its threading.local); want 1", id, r.Result)
		}
	}
}

func TestAppClose(t *testing.T) {
	rec := newRecorder()
	app, err := wsgi.New("rawapp:app", wsgi.WithPythonPath(testdataDir), wsgi.WithThreads(2),
		wsgi.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, app)

	slowDone := make(chan string, 1)
	go func() {
		resp, err := client.Get(srv.URL + "/sleep?t=0.6")
		if err != nil {
			slowDone <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slowDone <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	time.Sleep(200 * time.Millisecond) // the slow request is in Python

	// A Close whose deadline ends first reports the request still running.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err = app.Close(short)
	cancel()
	if err == nil {
		t.Error("Close returned nil while a request was still in Python past its deadline")
	}
	// Now closed: new requests are refused, the running one finishes.
	if resp, body := get(t, srv.URL+"/head"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a request after Close: %s %q, want 503", resp.Status, body)
	}
	if got := <-slowDone; got != "200 slept\n" {
		t.Errorf("the request in flight during Close got %q, want it to finish (200 slept)", got)
	}
	err = app.Close(context.Background())
	if err != nil && !errors.Is(err, wsgi.ErrClosed) {
		t.Errorf("Close after the requests ended: %v", err)
	}
	if err := app.Close(context.Background()); !errors.Is(err, wsgi.ErrClosed) {
		t.Errorf("a second Close: %v, want ErrClosed", err)
	}
}

// TestErrorsAfterClose: a line written, through a wsgi.errors an app kept,
// after its App was closed goes to stderr; it does not take the process
// down with a panic through Python's frames.
func TestErrorsAfterClose(t *testing.T) {
	inProcessOnly(t)
	first, err := wsgi.New("keptstreams:keep", wsgi.WithPythonPath(testdataDir), wsgi.WithLogger(slog.New(newRecorder())))
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, serve(t, first).URL+"/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the first App: %s %q", resp.Status, body)
	}
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, err := wsgi.New("keptstreams:write", wsgi.WithPythonPath(testdataDir), wsgi.WithLogger(slog.New(newRecorder())))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close(context.Background())
	if resp, body := get(t, serve(t, second).URL+"/"); resp.StatusCode != http.StatusOK || string(body) != "wrote\n" {
		t.Errorf("writing to the closed App's wsgi.errors: %s %q, want 200 wrote", resp.Status, body)
	}
}

// TestSlowUploadDoesNotHoldSlot: a small body is read before the request
// takes a slot, so a client that sends half of it and stalls does not
// block the app's only thread.
func TestSlowUploadDoesNotHoldSlot(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithThreads(1), wsgi.WithQueueTimeout(2*time.Second))
	slow := rawConn(t, hostOf(srv))
	io.WriteString(slow, "POST /input?how=read_n&n=100 HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello")
	time.Sleep(200 * time.Millisecond)

	resp, body := get(t, srv.URL+"/sleep?t=0")
	if resp.StatusCode != 200 {
		t.Errorf("with a stalled small upload pending: %s %q, want 200 (the upload must not hold the only slot)", resp.Status, body)
	}
	io.WriteString(slow, "world")
	resp, body = readRawResponse(t, slow, "POST")
	var r inputReport
	decodeJSON(t, resp, body, &r)
	if r.Body != "helloworld" {
		t.Errorf("the stalled upload read %q, want %q", r.Body, "helloworld")
	}
}

// TestClientGoneMidUploadFreesSlot: a client leaving in the middle of a
// streamed body fails the app's read, and the slot comes back.
func TestClientGoneMidUploadFreesSlot(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithThreads(1), wsgi.WithMaxPreread(0), wsgi.WithQueueTimeout(5*time.Second))
	for i := 0; i < 3; i++ {
		conn := rawConn(t, hostOf(srv))
		io.WriteString(conn, "POST /input?how=sha&n=1000 HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n0123456789")
		time.Sleep(100 * time.Millisecond) // the app is reading
		conn.Close()
	}
	start := time.Now()
	resp, body := get(t, srv.URL+"/sleep?t=0")
	if resp.StatusCode != 200 {
		t.Errorf("after clients left mid-upload: %s %q after %v, want 200 (the slot must be freed)", resp.Status, body, time.Since(start))
	}
}
