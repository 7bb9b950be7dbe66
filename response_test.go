package wsgi_test

// The response side over real HTTP: lazy start_response, streaming, close(),
// HEAD, Content-Length enforcement (list bodies included), 204/304, no
// sniffed Content-Type, bad results and bad list items, file_wrapper,
// oversized headers, a failing close(), and a ResponseWriter that fails or
// panics under the app.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var closeID atomic.Int64

// newCloseID names a fresh close() counter in rawapp.
func newCloseID(t *testing.T) string {
	return fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "."), closeID.Add(1))
}

type closeReport struct {
	Closes    int  `json:"closes"`
	Exhausted bool `json:"exhausted"`
	Reraised  *int `json:"reraised"`
	Produced  int  `json:"produced"` // blocks a /stream_long iterable produced
}

func closes(t *testing.T, base, id string) closeReport {
	t.Helper()
	var r closeReport
	getJSON(t, base+"/closes?id="+id, &r)
	return r
}

// waitCloses polls until close() was called at least once (up to 5 s),
// then waits a little more and returns the final count, so a second call
// would be seen.
func waitCloses(t *testing.T, base, id string) closeReport {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for closes(t, base, id).Closes == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond)
	return closes(t, base, id)
}

func want500(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != 500 {
		t.Errorf("status %s, want 500; body %q", resp.Status, body)
	}
	for _, bad := range []string{"Traceback", "Error:", "File \"", "should not be sent"} {
		if strings.Contains(string(body), bad) {
			t.Errorf("the 500 body shows %q; it must not leak app details:\n%s", bad, body)
		}
	}
}

func TestLazyStartResponse(t *testing.T) {
	srv, _ := validatedServer(t)
	resp, body := get(t, srv.URL+"/lazy")
	if resp.StatusCode != 201 || resp.Header.Get("X-Lazy") != "yes" || string(body) != "lazy body" {
		t.Errorf("got %s X-Lazy=%q %q, want 201 X-Lazy=yes %q", resp.Status, resp.Header.Get("X-Lazy"), body, "lazy body")
	}
	// Only empty blocks: the headers still go out, at the end.
	resp, body = get(t, srv.URL+"/lazy_empty")
	if resp.StatusCode != 202 || resp.Header.Get("X-Lazy") != "empty" || len(body) != 0 {
		t.Errorf("got %s X-Lazy=%q %q, want 202 X-Lazy=empty and no body", resp.Status, resp.Header.Get("X-Lazy"), body)
	}
}

func TestErrorInFirstNext(t *testing.T) {
	srv, rec := rawServer(t)
	resp, body := get(t, srv.URL+"/first_next_error")
	want500(t, resp, body)
	rec.waitLog(t, "Traceback (most recent call last)", "RuntimeError: fails in the first next()")

	id := newCloseID(t)
	resp, body = get(t, srv.URL+"/tracked?mode=error_first&id="+id)
	want500(t, resp, body)
	if r := waitCloses(t, srv.URL, id); r.Closes != 1 {
		t.Errorf("close() called %d times, want 1", r.Closes)
	}
}

// checkStreamed reads rawapp's /stream (three blocks, delay seconds apart)
// and checks each block arrived before the next was produced.
func checkStreamed(t *testing.T, c *http.Client, req *http.Request, delay float64) {
	t.Helper()
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %s: %s", resp.Status, b)
	}
	br := bufio.NewReader(resp.Body)
	var at []time.Duration
	for i := 1; i <= 3; i++ {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("block %d: %v (got %q)", i, err, line)
		}
		at = append(at, time.Since(start))
		if want := fmt.Sprintf("block%d\n", i); line != want {
			t.Fatalf("block %d = %q, want %q", i, line, want)
		}
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		t.Errorf("extra bytes after the blocks: %q", rest)
	}
	// The app sleeps delay between blocks: had the server held a block
	// back, two would arrive together.
	minGap := time.Duration(delay * float64(time.Second) / 2)
	for i := 1; i < len(at); i++ {
		if gap := at[i] - at[i-1]; gap < minGap {
			t.Errorf("block %d arrived %v after block %d, want at least %v: blocks are held back, not streamed (arrivals %v)",
				i+1, gap, i, minGap, at)
		}
	}
}

func TestStreaming(t *testing.T) {
	srv, _ := validatedServer(t)
	req, _ := http.NewRequest("GET", srv.URL+"/stream?delay=0.5", nil)
	checkStreamed(t, client, req, 0.5)
}

// TestBodyBeforeSlowClose: a response of one block with its
// Content-Length reaches the client while the app's close() still runs
// (PEP 3333: a server must not hold a block back while the app goes on);
// close() waits until the test has read the whole body.
func TestBodyBeforeSlowClose(t *testing.T) {
	srv, _ := rawServer(t)
	id := newCloseID(t)
	resp, err := client.Get(srv.URL + "/slow_close?id=" + id)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "whole body, before close()\n" {
		t.Errorf("the body while close() waits: %q, %v", body, err)
	}
	// On a connection of its own: the first is busy until close() returns.
	other := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
	defer other.CloseIdleConnections()
	resp, err = other.Get(srv.URL + "/release_close?id=" + id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("releasing close(): %s", resp.Status)
	}
}

func TestCloseCalledOnce(t *testing.T) {
	srv, _ := validatedServer(t)
	raw, _ := rawServer(t)

	t.Run("normal end", func(t *testing.T) {
		id := newCloseID(t)
		resp, body := get(t, srv.URL+"/tracked?mode=normal&id="+id)
		if resp.StatusCode != 200 || string(body) != "block 1\nblock 2\nblock 3\n" {
			t.Errorf("got %s %q", resp.Status, body)
		}
		r := waitCloses(t, srv.URL, id)
		if r.Closes != 1 || !r.Exhausted {
			t.Errorf("close() called %d times (exhausted %v), want once after the end", r.Closes, r.Exhausted)
		}
	})

	t.Run("app error mid-iteration", func(t *testing.T) {
		id := newCloseID(t)
		resp, err := client.Get(raw.URL + "/tracked?mode=error&id=" + id)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		// The header and block 1 were out: the response can only be cut.
		if err == nil {
			t.Errorf("the client read a complete response %q after the app failed mid-body; want it cut off", body)
		}
		if string(body) != "block 1\n" {
			t.Errorf("body = %q, want %q before the cut", body, "block 1\n")
		}
		if r := waitCloses(t, raw.URL, id); r.Closes != 1 {
			t.Errorf("close() called %d times, want 1", r.Closes)
		}
	})

	t.Run("client disconnects mid-stream", func(t *testing.T) {
		id := newCloseID(t)
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
		resp, err := c.Get(srv.URL + "/tracked?mode=endless&id=" + id)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2048)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close() // hangs up with the app still producing
		r := waitCloses(t, srv.URL, id)
		if r.Closes != 1 {
			t.Errorf("close() called %d times after the client left, want 1", r.Closes)
		}
		if r.Exhausted {
			t.Errorf("the server ran the iterable to its end (10 s of blocks) for a client that was gone")
		}
	})

	t.Run("file_wrapper over BytesIO", func(t *testing.T) {
		before := closes(t, raw.URL, "bytesio").Closes
		resp, body := get(t, raw.URL+"/file_bytesio")
		if resp.StatusCode != 200 || len(body) != 25600 {
			t.Errorf("got %s, %d bytes", resp.Status, len(body))
		}
		deadline := time.Now().Add(5 * time.Second)
		for closes(t, raw.URL, "bytesio").Closes == before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := closes(t, raw.URL, "bytesio").Closes - before; n != 1 {
			t.Errorf("the wrapped BytesIO was closed %d times, want 1", n)
		}
	})
}

func TestHEAD(t *testing.T) {
	srv, _ := rawServer(t)
	for _, tc := range []struct{ path, length string }{{"/head", "100"}, {"/head_gen", "10"}, {"/list_body", "93111"}} {
		raw := rawExchange(t, hostOf(srv), "HEAD "+tc.path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		head, body := splitRaw(t, raw)
		if !strings.HasPrefix(head, "HTTP/1.1 200 ") {
			t.Errorf("HEAD %s: %q", tc.path, head)
		}
		if !strings.Contains(head, "\r\nContent-Length: "+tc.length+"\r\n") {
			t.Errorf("HEAD %s: want the app's Content-Length %s kept; header:\n%s", tc.path, tc.length, head)
		}
		if body != "" {
			t.Errorf("HEAD %s sent a body: %q", tc.path, body)
		}
	}
	// Keep-alive after HEAD: the next response on the connection is intact.
	conn := rawConn(t, hostOf(srv))
	io.WriteString(conn, "HEAD /head HTTP/1.1\r\nHost: h\r\n\r\nGET /head_gen HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(br, &http.Request{Method: "HEAD"}); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("the response after HEAD: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "0123456789" {
		t.Errorf("the GET after a HEAD got %q, want %q", b, "0123456789")
	}
}

func TestContentLengthMismatch(t *testing.T) {
	srv, rec := validatedServer(t)

	t.Run("body shorter than declared", func(t *testing.T) {
		resp, err := client.Get(srv.URL + "/cl_larger")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("reading the body: err %v, want unexpected EOF (the connection must be closed)", err)
		}
		if string(body) != "only ten b" {
			t.Errorf("body %q", body)
		}
		rec.waitLog(t, "Content-Length")
	})

	t.Run("body longer than declared", func(t *testing.T) {
		raw := rawExchange(t, hostOf(srv), "GET /cl_smaller HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		head, body := splitRaw(t, raw)
		if !strings.Contains(head, "\r\nContent-Length: 5\r\n") || body != "01234" {
			t.Errorf("want exactly the declared 5 bytes; got header\n%s\nbody %q", head, body)
		}
	})
}

func TestNoContentTypeAdded(t *testing.T) {
	srv, _ := rawServer(t)
	raw := rawExchange(t, hostOf(srv), "GET /no_ctype HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	head, body := splitRaw(t, raw)
	if strings.Contains(strings.ToLower(head), "content-type") {
		t.Errorf("the server added a Content-Type the app did not set:\n%s", head)
	}
	if !strings.Contains(head, "\r\nX-Custom: 1") || body != "<html>looks like html</html>" {
		t.Errorf("got header\n%s\nbody %q", head, body)
	}
}

func TestBadResults(t *testing.T) {
	srv, rec := rawServer(t)
	for _, tc := range []struct{ path, logged string }{
		{"/str_block", "str"},
		{"/str_block_gen", "str"},
		{"/non_iterable", "int"},
		{"/none", "NoneType"},
		{"/no_start", "start_response"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, srv.URL+tc.path)
			want500(t, resp, body)
			rec.waitLog(t, tc.path, tc.logged)
		})
	}
}

func TestUncaughtException(t *testing.T) {
	srv, rec := rawServer(t)
	resp, body := get(t, srv.URL+"/uncaught?tag=xyzzy")
	want500(t, resp, body)
	if strings.Contains(string(body), "secret-detail") {
		t.Errorf("the 500 body leaks the exception: %q", body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("500 Content-Type %q", ct)
	}
	rec.waitLog(t, "Traceback (most recent call last)", "ZeroDivisionError: secret-detail-xyzzy", "rawapp.py")
}

func TestWSGIErrorsToLogger(t *testing.T) {
	srv, rec := validatedServer(t)
	resp, body := get(t, srv.URL+"/errors")
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s", resp.Status, body)
	}
	want := []string{"first line from the app", "second line", "third line", "unicode: café ✓", "unfinished", "via print to wsgi.errors", "one record\nits second line"}
	deadline := time.Now().Add(5 * time.Second)
	var got []string
	for {
		got = got[:0]
		for _, r := range rec.Records() {
			if r.Msg == "wsgi.errors" {
				got = append(got, r.Attrs["text"])
			}
		}
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("wsgi.errors lines logged: %q, want %q; the log:\n%s", got, want, rec.Text())
	}
}

// TestWSGIErrorsLevels: a line the app's logging wrote to wsgi.errors is
// logged at the level the line names; one that names none at ERROR.
func TestWSGIErrorsLevels(t *testing.T) {
	srv, rec := rawServer(t)
	get(t, srv.URL+"/errors_logging")
	want := map[string]slog.Level{
		"DEBUG:rawapp.levels:a debug record":      slog.LevelDebug,
		"INFO:rawapp.levels:an info record":       slog.LevelInfo,
		"WARNING:rawapp.levels:a warning record":  slog.LevelWarn,
		"ERROR:rawapp.levels:an error record":     slog.LevelError,
		"ERROR:rawapp.levels:an exception record": slog.LevelError,
		"a bare line": slog.LevelError,
	}
	rec.waitLog(t, "a bare line")
	got := map[string]slog.Level{}
	for _, r := range rec.Records() {
		if r.Msg == "wsgi.errors" {
			line, _, _ := strings.Cut(r.Attrs["text"], "\n")
			got[line] = r.Level
		}
	}
	for line, level := range want {
		if l, ok := got[line]; !ok || l != level {
			t.Errorf("%q: logged %v (%v), want at %v; the log:\n%s", line, l, ok, level, rec.Text())
		}
	}
}

func TestFileWrapper(t *testing.T) {
	data := make([]byte, 300<<10+7)
	for i := range data {
		data[i] = byte(i*7 + i/251)
	}
	path := t.TempDir() + "/data.bin"
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	raw, _ := rawServer(t)
	validated, _ := validatedServer(t) // the validator's wrapper hides the file: iteration
	for name, base := range map[string]string{"real file": raw.URL, "validated (iterated)": validated.URL} {
		t.Run(name, func(t *testing.T) {
			resp, body := get(t, base+"/file?path="+path)
			if resp.StatusCode != 200 {
				t.Fatalf("%s %s", resp.Status, body)
			}
			if string(body) != string(data) {
				t.Errorf("body: %d bytes, want the file's %d (equal: false)", len(body), len(data))
			}
			if resp.ContentLength != int64(len(data)) {
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, len(data))
			}
		})
	}
	t.Run("HEAD", func(t *testing.T) {
		rawResp := rawExchange(t, hostOf(raw), "HEAD /file?path="+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		head, body := splitRaw(t, rawResp)
		if !strings.Contains(head, fmt.Sprintf("\r\nContent-Length: %d\r\n", len(data))) || body != "" {
			t.Errorf("HEAD of a file: header\n%s\nbody %d bytes", head, len(body))
		}
	})
	t.Run("BytesIO falls back to iteration", func(t *testing.T) {
		want := strings.Repeat(string(func() []byte {
			b := make([]byte, 256)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}()), 100)
		for _, base := range []string{raw.URL, validated.URL} {
			resp, body := get(t, base+"/file_bytesio")
			if resp.StatusCode != 200 || string(body) != want {
				t.Errorf("%s: got %s and %d bytes, want 200 and %d bytes", base, resp.Status, len(body), len(want))
			}
		}
	})
}

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

// TestListBodyBadItem: a list or tuple body is all there before anything
// goes out, so a bad item makes a clean 500, not a cut connection.
func TestListBodyBadItem(t *testing.T) {
	srv, rec := rawServer(t)
	for _, target := range []string{"/list_bad_item", "/list_bad_item?tuple=1"} {
		resp, body := rawRoundTrip(t, hostOf(srv), "GET "+target+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != 500 || string(body) != "Internal Server Error\n" {
			t.Errorf("%s: %s %q; want a clean 500", target, resp.Status, body)
		}
	}
	rec.waitLog(t, "WSGI app error", "not bytes")
}

// TestListBodyShort: a list or tuple body shorter than its declared
// Content-Length is known before anything goes out: a clean 500 and a log
// line, not a status line followed by a cut. HEAD is not short.
func TestListBodyShort(t *testing.T) {
	srv, rec := rawServer(t)
	for _, target := range []string{"/list_short", "/list_short?tuple=1", "/list_short?big=1", "/list_short?big=1&tuple=1"} {
		resp, body := rawRoundTrip(t, hostOf(srv), "GET "+target+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != 500 || string(body) != "Internal Server Error\n" {
			t.Errorf("%s: %s %q; want a clean 500", target, resp.Status, body)
		}
	}
	rec.waitLog(t, "WSGI app error", "shorter than the Content-Length it declared", "the body is 10 bytes, its Content-Length 100")
	resp, _ := rawRoundTrip(t, hostOf(srv), "HEAD /list_short HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 || resp.ContentLength != 100 {
		t.Errorf("HEAD /list_short: %s, Content-Length %d; want 200 with the app's 100", resp.Status, resp.ContentLength)
	}
}

// TestClientGoneAtLastListBlock: the last blocks of a list body come back
// from Python together with the end of the request; a client gone as they
// are written must not make Go end the request a second time (that freed
// the request object twice and crashed the process, at once under the
// debug interpreter: see TestRefcount's /gone-tail in interp/).
func TestClientGoneAtLastListBlock(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app")
	for i := 0; i < 200; i++ {
		w := &fakeWriter{h: http.Header{}, brokenAt: 40000}
		func() {
			defer func() {
				if r := recover(); r != nil && r != http.ErrAbortHandler {
					t.Fatalf("ServeHTTP panicked: %v", r)
				}
			}()
			app.ServeHTTP(w, httptest.NewRequest("GET", "/list_tail", nil))
		}()
		if w.n != 40000 {
			t.Fatalf("wrote %d bytes before the client went, want 40000", w.n)
		}
	}
	resp, body := get(t, serve(t, app).URL+"/list_tail")
	if resp.StatusCode != 200 || len(body) != 40100 {
		t.Errorf("after: %s, %d bytes", resp.Status, len(body))
	}
}

// TestPanicInCallback checks that a panic in Go code run from a callback
// (a block sent by gowsgiBlock, a write() through gowsgiWrite) comes out of
// ServeHTTP as itself, after the request ended in C: close() called once,
// and the interpreter intact for the next request. Unwinding through
// CPython's frames (write()) used to corrupt the interpreter: every later
// request failed, CPython printing its "lineno: ..., opcode: ..." error on stderr.
func TestPanicInCallback(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app")
	srv := serve(t, app)
	for _, tc := range []struct{ name, path string }{
		{"block", "/tracked?mode=endless&id="}, // gowsgiBlock
		{"write", "/write_gone?id="},           // gowsgiWrite, inside the app call
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newCloseID(t)
			got := func() (p any) {
				defer func() { p = recover() }()
				app.ServeHTTP(&fakeWriter{h: http.Header{}, panicAfter: 1}, httptest.NewRequest("GET", tc.path+id, nil))
				return nil
			}()
			if got != errMiddleware {
				t.Errorf("ServeHTTP panicked with %v, want the writer's own panic", got)
			}
			if r := waitCloses(t, srv.URL, id); r.Closes != 1 {
				t.Errorf("close() called %d times, want 1", r.Closes)
			}
			// The interpreter still works, on any thread.
			for i := 0; i < 8; i++ {
				resp, body := get(t, srv.URL+"/tracked?mode=normal&id="+newCloseID(t))
				if resp.StatusCode != 200 || string(body) != "block 1\nblock 2\nblock 3\n" {
					t.Fatalf("the next request got %s %q", resp.Status, strings.TrimSpace(string(body)))
				}
			}
		})
	}
}
