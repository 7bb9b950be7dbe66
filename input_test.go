package wsgi_test

// wsgi.input over real HTTP: the read methods on pre-read, streamed and
// chunked bodies, the Content-Length bound, Expect: 100-continue, a
// malformed chunked body, and slow or abandoned uploads, which never hold
// a Python thread.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gowsgi/wsgi"
)

// inputReport is what rawapp's /input route says it read.
type inputReport struct {
	How             string   `json:"how"`
	InputTerminated any      `json:"input_terminated"`
	Sizes           []int    `json:"sizes"`
	Body            string   `json:"body"`
	Lines           []string `json:"lines"`
	First           []string `json:"first"`
	Rest            []string `json:"rest"`
	Len             int      `json:"len"`
	SHA256          string   `json:"sha256"`
	Reads           int      `json:"reads"`
	Extra           string   `json:"extra"`
	ExtraType       string   `json:"extra_type"`
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// splitLines is what readline(size) returns, call after call.
func splitLines(body string, size int) []string {
	var out []string
	for body != "" {
		n := len(body)
		if i := strings.IndexByte(body, '\n'); i >= 0 {
			n = i + 1
		}
		if size >= 0 && n > size {
			n = size
		}
		out = append(out, body[:n])
		body = body[n:]
	}
	return out
}

// bodyKinds are the three ways a body reaches the app.
var bodyKinds = []struct {
	name    string
	opts    []wsgi.Option
	chunked bool
}{
	{"preread", nil, false}, // small, read before the slot is taken
	{"streamed", []wsgi.Option{wsgi.WithMaxPreread(0)}, false}, // read from the connection as the app asks
	{"chunked", nil, true}, // no Content-Length: de-chunked, input_terminated
}

func newBody(s string, chunked bool) io.Reader {
	if chunked {
		return struct{ io.Reader }{strings.NewReader(s)} // hides the length: the client sends it chunked
	}
	return strings.NewReader(s)
}

func TestInputMethods(t *testing.T) {
	const body = "line1\nline22\n\nline333\nlast-no-newline"
	lines := splitLines(body, -1)
	for _, kind := range bodyKinds {
		t.Run(kind.name, func(t *testing.T) {
			validated, _ := validatedServer(t, kind.opts...)
			raw, _ := rawServer(t, kind.opts...)
			for _, tc := range []struct {
				query string
				srv   string // validator forbids read() without a size: raw app
				check func(t *testing.T, r inputReport)
			}{
				{"how=read_n&n=1", "v", nil},
				{"how=read_n&n=7", "v", nil},
				{"how=read_n&n=100000", "v", nil},
				{"how=read_all", "raw", nil},
				{"how=readline&size=-1", "v", func(t *testing.T, r inputReport) { wantLines(t, r.Lines, lines) }},
				{"how=readline&size=4", "v", func(t *testing.T, r inputReport) { wantLines(t, r.Lines, splitLines(body, 4)) }},
				{"how=readline&size=0", "raw", func(t *testing.T, r inputReport) {
					// readline(0) is b'' and consumes nothing: the read(1)
					// after it gets the first byte.
					wantLines(t, r.Lines, nil)
					if r.Extra != "l" {
						t.Errorf("read(1) after readline(0) = %q, want %q", r.Extra, "l")
					}
				}},
				{"how=readlines&hint=-1", "v", func(t *testing.T, r inputReport) {
					wantLines(t, r.First, lines)
					wantLines(t, r.Rest, nil)
				}},
				{"how=readlines&hint=8", "v", func(t *testing.T, r inputReport) {
					// Lines are taken until their total reaches the hint.
					wantLines(t, r.First, lines[:2])
					wantLines(t, r.Rest, lines[2:])
				}},
				{"how=readlines&hint=6", "v", func(t *testing.T, r inputReport) {
					wantLines(t, r.First, lines[:1])
					wantLines(t, r.Rest, lines[1:])
				}},
				{"how=iter", "v", func(t *testing.T, r inputReport) { wantLines(t, r.Lines, lines) }},
			} {
				t.Run(tc.query, func(t *testing.T) {
					url := validated.URL
					if tc.srv == "raw" {
						url = raw.URL
					}
					req, _ := http.NewRequest("POST", url+"/input?"+tc.query, newBody(body, kind.chunked))
					resp, b := do(t, client, req)
					var r inputReport
					decodeJSON(t, resp, b, &r)
					if r.How == "read_n" || r.How == "read_all" {
						if r.Body != body {
							t.Errorf("read: got %q, want %q", r.Body, body)
						}
						var n int
						fmt.Sscanf(tc.query, "how=read_n&n=%d", &n)
						for _, s := range r.Sizes {
							if n > 0 && s > n {
								t.Errorf("read(%d) returned %d bytes (sizes %v)", n, s, r.Sizes)
							}
						}
					}
					if tc.check != nil {
						tc.check(t, r)
					}
					if strings.Contains(tc.query, "size=0") {
						r.Extra = ""
					}
					if r.Extra != "" || r.ExtraType != "bytes" {
						t.Errorf("read(1) after the end = %s %q, want b''", r.ExtraType, r.Extra)
					}
					if r.InputTerminated != kind.chunked {
						t.Errorf("wsgi.input_terminated = %v, want %v", r.InputTerminated, kind.chunked)
					}
				})
			}
		})
	}
}

func wantLines(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

// TestInputBodies sends bodies of every size class and checks the app read
// exactly them.
func TestInputBodies(t *testing.T) {
	validated, _ := validatedServer(t)
	big := make([]byte, 1<<20+123) // > 64 KiB: streamed
	rand.Read(big)
	small := big[:60<<10] // <= 64 KiB: pre-read

	for _, tc := range []struct {
		name    string
		body    []byte
		chunked bool
		n       int
	}{
		{"small pre-read", small, false, 1000},
		{"small pre-read, one read", small, false, 1 << 20},
		{"exactly 64 KiB", big[:64<<10], false, 4096},
		{"64 KiB + 1", big[:64<<10+1], false, 4096},
		{"large streamed", big, false, 1000},
		{"large streamed, big reads", big, false, 300000},
		{"large chunked", big, true, 4096},
		{"empty", nil, false, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				pr, pw := io.Pipe()
				go func() {
					// Several chunks with pauses, as a slow client uploads.
					for off := 0; off < len(tc.body); off += 200000 {
						pw.Write(tc.body[off:min(off+200000, len(tc.body))])
						time.Sleep(5 * time.Millisecond)
					}
					pw.Close()
				}()
				body = pr
			}
			req, _ := http.NewRequest("POST", fmt.Sprintf("%s/input?how=sha&n=%d", validated.URL, tc.n), body)
			resp, b := do(t, client, req)
			var r inputReport
			decodeJSON(t, resp, b, &r)
			if r.Len != len(tc.body) || r.SHA256 != sha(string(tc.body)) {
				t.Errorf("the app read %d bytes, sha256 %s; sent %d, sha256 %s", r.Len, r.SHA256, len(tc.body), sha(string(tc.body)))
			}
			if r.Extra != "" {
				t.Errorf("read after the end = %q, want b''", r.Extra)
			}
			if r.InputTerminated != tc.chunked {
				t.Errorf("wsgi.input_terminated = %v, want %v", r.InputTerminated, tc.chunked)
			}
		})
	}
}

// TestInputStopsAtContentLength sends bytes beyond the Content-Length on
// the connection: the app must never see them.
func TestInputStopsAtContentLength(t *testing.T) {
	for _, kind := range bodyKinds[:2] {
		t.Run(kind.name, func(t *testing.T) {
			srv, _ := rawServer(t, kind.opts...)
			for _, how := range []string{"read_n&n=3", "read_n&n=100", "read_all", "iter", "readline&size=-1"} {
				resp, b := rawRoundTrip(t, hostOf(srv), "POST /input?how="+how+" HTTP/1.1\r\nHost: h\r\n"+
					"Content-Length: 6\r\nConnection: close\r\n\r\nhel\nloEXTRA\nBYTES\n")
				var r inputReport
				decodeJSON(t, resp, b, &r)
				got := r.Body + strings.Join(r.Lines, "")
				if got != "hel\nlo" {
					t.Errorf("%s: the app read %q, want %q", how, got, "hel\nlo")
				}
				if r.Extra != "" || r.ExtraType != "bytes" {
					t.Errorf("%s: read(1) at the end = %s %q, want b''", how, r.ExtraType, r.Extra)
				}
			}
		})
	}
}

// TestExpectContinue checks 100 Continue goes out only when the app reads.
func TestExpectContinue(t *testing.T) {
	srv, _ := validatedServer(t)

	t.Run("app reads", func(t *testing.T) {
		conn := rawConn(t, hostOf(srv))
		io.WriteString(conn, "POST /expect HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"+
			"Expect: 100-continue\r\nConnection: close\r\n\r\n")
		// Nothing of the body is sent until the 100 arrives.
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var got []byte
		buf := make([]byte, 1)
		for !bytes.HasSuffix(got, []byte("\r\n\r\n")) {
			if _, err := conn.Read(buf); err != nil {
				t.Fatalf("waiting for 100 Continue: %v (got %q)", err, got)
			}
			got = append(got, buf[0])
		}
		if !strings.HasPrefix(string(got), "HTTP/1.1 100 Continue\r\n") {
			t.Fatalf("first response = %q, want 100 Continue", got)
		}
		io.WriteString(conn, "hello")
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, body := readRawResponse(t, conn, "POST")
		if resp.StatusCode != 200 || string(body) != "got 5\n" {
			t.Errorf("final response %s %q, want 200 %q", resp.Status, body, "got 5\n")
		}
	})

	t.Run("app rejects without reading", func(t *testing.T) {
		conn := rawConn(t, hostOf(srv))
		io.WriteString(conn, "POST /expect?reject=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n"+
			"Expect: 100-continue\r\nConnection: close\r\n\r\n")
		// The body is never sent: a server waiting for it would hang here.
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		all, err := io.ReadAll(conn)
		if err != nil && len(all) == 0 {
			t.Fatalf("reading the response: %v", err)
		}
		if strings.Contains(string(all), "100 Continue") {
			t.Errorf("the server sent 100 Continue for an app that never read the body:\n%s", all)
		}
		if !strings.HasPrefix(string(all), "HTTP/1.1 413 ") {
			t.Errorf("response = %q, want 413 first", all)
		}
	})

	t.Run("Go client", func(t *testing.T) {
		tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
		req, _ := http.NewRequest("POST", srv.URL+"/expect", strings.NewReader(strings.Repeat("x", 70000)))
		req.Header.Set("Expect", "100-continue")
		resp, body := do(t, c, req)
		if resp.StatusCode != 200 || string(body) != "got 70000\n" {
			t.Errorf("got %s %q, want 200 %q", resp.Status, body, "got 70000\n")
		}
	})
}

// TestInputLongLines reads lines longer than any internal buffer, on the
// streamed and chunked paths.
func TestInputLongLines(t *testing.T) {
	body := strings.Repeat("A", 200000) + "\n" + strings.Repeat("B", 70000) + "\n\n" + strings.Repeat("C", 100)
	srv, _ := validatedServer(t)
	for _, chunked := range []bool{false, true} {
		for _, size := range []int{-1, 7, 65536, 70001, 1 << 20} {
			t.Run(fmt.Sprintf("chunked=%v/size=%d", chunked, size), func(t *testing.T) {
				req, _ := http.NewRequest("POST", fmt.Sprintf("%s/input?how=readline&size=%d", srv.URL, size), newBody(body, chunked))
				resp, b := do(t, client, req)
				var r inputReport
				decodeJSON(t, resp, b, &r)
				want := splitLines(body, size)
				if len(r.Lines) != len(want) || strings.Join(r.Lines, "") != body {
					t.Errorf("readline(%d): %d lines (%d bytes), want %d lines (%d bytes)",
						size, len(r.Lines), len(strings.Join(r.Lines, "")), len(want), len(body))
				} else {
					for i := range want {
						if r.Lines[i] != want[i] {
							t.Errorf("line %d: %d bytes, want %d", i, len(r.Lines[i]), len(want[i]))
							break
						}
					}
				}
			})
		}
	}
}

// TestMalformedChunkedBody: a chunked body that breaks its framing makes
// wsgi.input raise; an app that lets the error escape before sending
// anything gets its client a 400, not a cut connection or a 500.
func TestMalformedChunkedBody(t *testing.T) {
	srv, rec := rawServer(t)
	head := func(target string) string {
		return "POST " + target + " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	}
	for _, tc := range []struct{ name, target, body string }{
		{"size not hex", "/input?how=read_all", "zz\r\nabc\r\n0\r\n\r\n"},
		{"negative size", "/input?how=read_all", "-3\r\nabc\r\n0\r\n\r\n"},
		{"size too large", "/input?how=read_all", "fffffffffffffffff\r\nabc\r\n0\r\n\r\n"},
		{"data longer than its size", "/input?how=read_all", "2\r\nabcdef\r\n0\r\n\r\n"},
		{"no CRLF after data", "/input?how=read_all", "3\r\nabcXX0\r\n\r\n"},
		{"bare LF size line", "/input?how=read_all", "3\nabc\r\n0\r\n\r\n"},
		{"bad second chunk, read in pieces", "/input?how=read_n&n=2", "3\r\nabc\r\nq\r\n0\r\n\r\n"},
		{"bad chunk after a good line", "/input?how=readline", "4\r\nab\nc\r\nxyz\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := rawExchange(t, hostOf(srv), head(tc.target)+tc.body)
			h, body := splitRaw(t, raw)
			if !strings.HasPrefix(h, "HTTP/1.1 400 ") || body != "Bad Request\n" {
				t.Errorf("got\n%s\nwant 400 Bad Request with a plain body", raw)
			}
		})
	}
	rec.waitLog(t, "bad request body; answered", "400", "malformed request body")

	// A well-formed chunked body still reads.
	raw := rawExchange(t, hostOf(srv), head("/input?how=read_all")+"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	if !strings.HasPrefix(raw, "HTTP/1.1 200 ") || !strings.Contains(raw, `"body": "abcde"`) {
		t.Errorf("well-formed chunked body:\n%s", raw)
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

// TestServeLeavesRequestBody: ServeHTTP reads the request's body but does
// not replace it, so a Go handler may hand the same request on again (a
// shadow copy, a retry) and every call sees the body the caller gave, for
// a pre-read and for a streamed body.
func TestServeLeavesRequestBody(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app")
	capped, _ := loadApp(t, "rawapp:app", wsgi.WithMaxRequestBody(1<<20))
	for _, tc := range []struct {
		name    string
		app     *wsgi.App
		size    int
		chunked bool // Content-Length unknown: WithMaxRequestBody caps it as it is read
	}{
		{"pre-read", app, 100, false},
		{"streamed", app, 100 << 10, false},
		{"chunked", app, 100 << 10, true},
		{"chunked under a cap", capped, 100 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := strings.Repeat("x", tc.size)
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < 2; i++ {
					r.Body = io.NopCloser(strings.NewReader(want)) // a fresh copy each time
					if tc.chunked {
						r.ContentLength = -1
					}
					body := r.Body
					rec := httptest.NewRecorder()
					tc.app.ServeHTTP(rec, r)
					if r.Body != body {
						t.Errorf("call %d: ServeHTTP replaced the request's Body (%T) with a %T", i, body, r.Body)
					}
					var got inputReport
					if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != 200 || err != nil || got.Len != tc.size {
						t.Errorf("call %d: %d, the app read %d bytes (%v), want 200 and %d", i, rec.Code, got.Len, err, tc.size)
					}
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			req, _ := http.NewRequest("POST", srv.URL+"/input?how=sha", strings.NewReader(want))
			if resp, _ := do(t, client, req); resp.StatusCode != http.StatusNoContent {
				t.Errorf("the handler answered %d", resp.StatusCode)
			}
		})
	}
}
