package wsgi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readFromWriter is a ResponseWriter with a ReadFrom of its own, which
// says whether it was used.
type readFromWriter struct {
	*httptest.ResponseRecorder
	used bool
}

func (w *readFromWriter) ReadFrom(r io.Reader) (int64, error) {
	w.used = true
	return io.Copy(w.ResponseRecorder, r)
}

// TestRecorderKeepsInterfaces checks that the counting ResponseWriter of
// an observed request leaves the connection's own abilities reachable:
// Flush, the deadlines of http.ResponseController (through Unwrap, on a
// real connection), and ReadFrom (net/http's sendfile(2)).
func TestRecorderKeepsInterfaces(t *testing.T) {
	type result struct {
		flush, flushErr, deadline error
		rc                        recorder
	}
	got := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := &recorder{w: w}
		var res result
		if _, ok := any(rc).(http.Flusher); !ok {
			res.flush = io.ErrShortWrite
		}
		io.WriteString(rc, "abc")
		ctl := http.NewResponseController(rc)
		res.flushErr = ctl.Flush()
		res.deadline = ctl.SetWriteDeadline(time.Now().Add(time.Minute))
		res.rc = *rc
		got <- res
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	res := <-got
	if res.flush != nil || res.flushErr != nil || res.deadline != nil {
		t.Errorf("Flusher %v, Flush %v, SetWriteDeadline %v", res.flush, res.flushErr, res.deadline)
	}
	if res.rc.status != 200 || res.rc.bytes != 3 || string(body) != "abc" || resp.StatusCode != 200 {
		t.Errorf("recorded %d %d; the client got %d %q", res.rc.status, res.rc.bytes, resp.StatusCode, body)
	}

	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, []byte(strings.Repeat("z", 10000)), 0o644); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	under := &readFromWriter{ResponseRecorder: httptest.NewRecorder()}
	rc := &recorder{w: under}
	n, err := io.Copy(rc, &io.LimitedReader{R: file, N: 6000})
	if err != nil || n != 6000 || !under.used || rc.bytes != 6000 || rc.status != 200 {
		t.Errorf("io.Copy: %d, %v; the connection's ReadFrom used: %v; recorded %d bytes, status %d",
			n, err, under.used, rc.bytes, rc.status)
	}
	if connWriter(rc) != http.ResponseWriter(under) {
		t.Error("connWriter does not give the connection's ResponseWriter")
	}
}
