package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
	"github.com/gowsgi/wsgi/internal/syncbuf"
)

// One test binary is one process, so one Python interpreter, finalized
// after every test.
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

const (
	aliceToken = "token-for-alice"
	bobToken   = "token-for-bob"
)

// site is one running copy of the program.
type site struct {
	URL    string // with the Flask mount prefix, no trailing slash: the Flask app's root
	Root   string // the server's root URL
	Prefix string // "" or like "/legacy"
	logs   *syncbuf.Buffer
	// sendfiles counts responses whose body reached the connection as an
	// *os.File through io.ReaderFrom: the path on which net/http uses
	// sendfile(2).
	sendfiles *atomic.Int64
}

// newSite serves newServer on a real port, with the Flask app mounted at mount.
func newSite(t *testing.T, mount string) *site {
	t.Helper()
	logs := &syncbuf.Buffer{}
	h, err := newServer(config{
		PyDir:     ".",
		Mount:     mount,
		UploadDir: t.TempDir(),
		APIKeys:   map[string]string{aliceToken: "alice", bobToken: "bob"},
		Log:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	sendfiles := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(fileSpy{w, sendfiles}, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	prefix := strings.TrimSuffix(mount, "/")
	return &site{URL: srv.URL + prefix, Root: srv.URL, Prefix: prefix, logs: logs, sendfiles: sendfiles}
}

// fileSpy sits between the server and the program and counts the bodies
// handed to ReadFrom as a file. gowsgi sends a wsgi.file_wrapper of a real
// file that way, and only that way: an iterated body arrives through Write.
// The program's middleware must pass ReadFrom on for this to happen.
type fileSpy struct {
	http.ResponseWriter
	files *atomic.Int64
}

func (s fileSpy) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s fileSpy) ReadFrom(src io.Reader) (int64, error) {
	r := src
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	if _, ok := r.(*os.File); ok {
		s.files.Add(1)
	}
	return s.ResponseWriter.(io.ReaderFrom).ReadFrom(src)
}

// mounts runs f for the Flask app at the root and under a prefix.
func mounts(t *testing.T, f func(t *testing.T, s *site)) {
	for _, m := range []string{"/", "/legacy/"} {
		t.Run("mount="+m, func(t *testing.T) { f(t, newSite(t, m)) })
	}
}

type response struct {
	*http.Response
	Body []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v\n%s", r.Request.Method, r.Request.URL, err, r.Body)
	}
	return v
}

// do sends a request; token "" means anonymous.
func do(t *testing.T, c *http.Client, method, url, token string, body io.Reader, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp, b}
}

func wantStatus(t *testing.T, r response, code int) {
	t.Helper()
	if r.StatusCode != code {
		t.Fatalf("%s %s = %s, want %d\n%s", r.Request.Method, r.Request.URL, r.Status, code, r.Body)
	}
}

func TestGoAPI(t *testing.T) {
	s := newSite(t, "/")

	r := do(t, nil, "GET", s.Root+"/api/v2/whoami", "", nil)
	wantStatus(t, r, 401)
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}

	r = do(t, nil, "GET", s.Root+"/api/v2/whoami", "wrong-token", nil)
	wantStatus(t, r, 401)

	r = do(t, nil, "GET", s.Root+"/api/v2/whoami", aliceToken, nil, "X-Request-Id", "req-42")
	wantStatus(t, r, 200)
	v := r.json(t)
	if v["user"] != "alice" || v["request_id"] != "req-42" || v["served_by"] != "go" {
		t.Errorf("whoami = %v", v)
	}
	if got := r.Header.Get("X-Request-Id"); got != "req-42" {
		t.Errorf("X-Request-Id = %q, want req-42", got)
	}

	// Unknown API v2 paths stay in Go; they do not fall through to Flask.
	r = do(t, nil, "GET", s.Root+"/api/v2/nope", bobToken, nil)
	wantStatus(t, r, 404)
	if v := r.json(t); v["error"] != "no such endpoint in API v2" {
		t.Errorf("404 from %v, want Go's", v)
	}
}

// TestIdentity: the Flask app sees what the Go middleware decided, and
// nothing a client could forge.
func TestIdentity(t *testing.T) {
	mounts(t, func(t *testing.T, s *site) {
		r := do(t, nil, "GET", s.URL+"/whoami", aliceToken, nil, "X-Request-Id", "trace-1")
		wantStatus(t, r, 200)
		v := r.json(t)
		if v["remote_user"] != "alice" || v["request_id"] != "trace-1" {
			t.Errorf("Flask saw user %v, request id %v; want alice, trace-1", v["remote_user"], v["request_id"])
		}
		if v["saw_authorization"] != false {
			t.Error("the bearer token reached Flask")
		}
		if got := r.Header.Get("X-Request-Id"); got != "trace-1" {
			t.Errorf("X-Request-Id = %q", got)
		}

		// Anonymous, trying to pose as a user with a header, and with a
		// request id that is not well-formed: Go makes a new one.
		r = do(t, nil, "GET", s.URL+"/whoami", "", nil, "Remote-User", "mallory", "X-Request-Id", "bad id; drop table")
		wantStatus(t, r, 200)
		v = r.json(t)
		if v["remote_user"] != nil {
			t.Errorf("anonymous request reached Flask as %v", v["remote_user"])
		}
		if v["http_remote_user"] != "mallory" {
			t.Errorf("HTTP_REMOTE_USER = %v, want the client's header value", v["http_remote_user"])
		}
		rid := r.Header.Get("X-Request-Id")
		if len(rid) != 16 || v["request_id"] != rid {
			t.Errorf("generated request id: header %q, Flask saw %v", rid, v["request_id"])
		}

		// Bad credentials never reach Flask.
		r = do(t, nil, "GET", s.URL+"/whoami", "forged", nil)
		wantStatus(t, r, 401)
	})
}

// TestURLFor: url_for and redirects carry the mount prefix.
func TestURLFor(t *testing.T) {
	mounts(t, func(t *testing.T, s *site) {
		v := do(t, nil, "GET", s.URL+"/whoami", "", nil).json(t)
		if v["script_name"] != s.Prefix || v["path"] != "/whoami" {
			t.Errorf("script_name %v path %v, want %q /whoami", v["script_name"], v["path"], s.Prefix)
		}
		urls := v["urls"].(map[string]any)
		want := map[string]string{
			"index":    s.Prefix + "/",
			"stream":   s.Prefix + "/stream?n=3",
			"download": s.Prefix + "/download/report.txt",
			"external": s.URL + "/whoami",
		}
		for k, w := range want {
			if urls[k] != w {
				t.Errorf("url_for %s = %v, want %s", k, urls[k], w)
			}
		}

		// The index page's links, from url_for in a Jinja template.
		r := do(t, nil, "GET", s.URL+"/", "", nil)
		wantStatus(t, r, 200)
		for _, link := range []string{`href="` + s.Prefix + `/whoami"`, `action="` + s.Prefix + `/upload"`} {
			if !bytes.Contains(r.Body, []byte(link)) {
				t.Errorf("index page lacks %s:\n%s", link, r.Body)
			}
		}

		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		r = do(t, noFollow, "GET", s.URL+"/old-home", "", nil)
		wantStatus(t, r, 302)
		if loc := r.Header.Get("Location"); loc != s.Prefix+"/" && loc != s.URL+"/" {
			t.Errorf("redirect to %q, want %s/", loc, s.Prefix)
		}
	})
}

// TestStreaming: stream_with_context blocks reach the client as they are
// made, not all at the end.
func TestStreaming(t *testing.T) {
	mounts(t, func(t *testing.T, s *site) {
		req, _ := http.NewRequest("GET", s.URL+"/stream?n=5&delay=0.2", nil)
		req.Header.Set("Authorization", "Bearer "+bobToken)
		req.Header.Set("X-Request-Id", "stream-1")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != -1 {
			t.Fatalf("status %s, Content-Length %d: want 200, streamed", resp.Status, resp.ContentLength)
		}
		var lines []string
		var at []time.Duration
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				lines = append(lines, line)
				at = append(at, time.Since(start))
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(lines) != 6 {
			t.Fatalf("got %d lines, want 6: %q", len(lines), lines)
		}
		if lines[0] != "stream for bob (request stream-1)\n" {
			t.Errorf("first line %q", lines[0])
		}
		if want := "line 5 of 5, path /stream\n"; lines[5] != want {
			t.Errorf("last line %q, want %q", lines[5], want)
		}
		// The first line is made before any sleep, the last after 1s.
		if spread := at[5] - at[0]; spread < 600*time.Millisecond {
			t.Errorf("lines arrived within %v of each other: the response was buffered, not streamed (times %v)", spread, at)
		}
	})
}

// TestUploadDownload: a multipart upload of a few MB through request.files,
// seen from Go's API, and downloaded back through send_file, whole and in
// a range.
func TestUploadDownload(t *testing.T) {
	mounts(t, func(t *testing.T, s *site) {
		data := make([]byte, 3<<20+12345)
		rand.Read(data)
		sum := sha256.Sum256(data)

		// Streamed through a pipe: the body is sent chunked as it is made.
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			mw.WriteField("comment", "quarterly numbers")
			fw, _ := mw.CreateFormFile("file", "report 2024.bin")
			fw.Write(data)
			pw.CloseWithError(mw.Close())
		}()
		r := do(t, nil, "POST", s.URL+"/upload", aliceToken, pr, "Content-Type", mw.FormDataContentType())
		wantStatus(t, r, 201)
		v := r.json(t)
		if v["name"] != "report_2024.bin" || v["size"] != float64(len(data)) ||
			v["sha256"] != hex.EncodeToString(sum[:]) || v["comment"] != "quarterly numbers" || v["uploaded_by"] != "alice" {
			t.Fatalf("upload = %v", v)
		}
		if v["download"] != s.Prefix+"/download/report_2024.bin" {
			t.Errorf("download URL %v", v["download"])
		}

		// The same upload again with a Content-Length, as a browser sends it.
		var buf bytes.Buffer
		mw = multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "copy.bin")
		fw.Write(data[:1<<20])
		mw.Close()
		r = do(t, nil, "POST", s.URL+"/upload", bobToken, bytes.NewReader(buf.Bytes()), "Content-Type", mw.FormDataContentType())
		wantStatus(t, r, 201)
		if v := r.json(t); v["size"] != float64(1<<20) {
			t.Errorf("second upload = %v", v)
		}

		// Go lists what Flask stored.
		r = do(t, nil, "GET", s.Root+"/api/v2/uploads", aliceToken, nil)
		wantStatus(t, r, 200)
		if !bytes.Contains(r.Body, []byte(fmt.Sprintf(`{"name":"report_2024.bin","size":%d}`, len(data)))) {
			t.Errorf("Go's upload list lacks the file: %s", r.Body)
		}

		files := s.sendfiles.Load()
		r = do(t, nil, "GET", s.URL+"/download/report_2024.bin", "", nil)
		wantStatus(t, r, 200)
		if !bytes.Equal(r.Body, data) {
			t.Fatalf("downloaded %d bytes, not the %d uploaded", len(r.Body), len(data))
		}
		if r.ContentLength != int64(len(data)) {
			t.Errorf("Content-Length %d, want %d", r.ContentLength, len(data))
		}
		// send_file handed the file to the server's wsgi.file_wrapper.
		if bt := r.Header.Get("X-Body-Type"); bt != "gowsgi.FileWrapper" {
			t.Errorf("send_file's body is a %s, want gowsgi.FileWrapper (wsgi.file_wrapper)", bt)
		}
		// ... and the server sent the file itself, not blocks read by
		// Python.
		if n := s.sendfiles.Load() - files; n != 1 {
			t.Errorf("the download reached the connection as a file %d times, want 1 (sendfile path not taken)", n)
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
			t.Errorf("Content-Disposition %q", cd)
		}

		r = do(t, nil, "GET", s.URL+"/download/report_2024.bin", "", nil, "Range", "bytes=1000-1999")
		wantStatus(t, r, 206)
		if !bytes.Equal(r.Body, data[1000:2000]) {
			t.Errorf("range: got %d bytes, not bytes 1000-1999 of the file", len(r.Body))
		}

		r = do(t, nil, "GET", s.URL+"/download/nope.bin", "", nil)
		wantStatus(t, r, 404)
	})
}

// TestSessionAndCookies: Flask's signed session cookie and a plain cookie,
// kept by a cookie jar as a browser keeps them.
func TestSessionAndCookies(t *testing.T) {
	mounts(t, func(t *testing.T, s *site) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		for i := 1; i <= 3; i++ {
			v := do(t, c, "GET", s.URL+"/visits", "", nil).json(t)
			if v["visits"] != float64(i) {
				t.Fatalf("visit %d: session says %v", i, v["visits"])
			}
		}
		// POST, then the redirect (followed by the client) shows the cookie.
		r := do(t, c, "POST", s.URL+"/theme/dark", "", nil)
		wantStatus(t, r, 200)
		v := r.json(t)
		if v["theme"] != "dark" || v["visits"] != float64(4) {
			t.Errorf("after setting the theme: %v", v)
		}
		// The theme cookie is scoped to the mount prefix.
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		r = do(t, noFollow, "POST", s.URL+"/theme/light", "", nil)
		wantStatus(t, r, 302)
		path := s.Prefix
		if path == "" {
			path = "/"
		}
		if sc := r.Header.Get("Set-Cookie"); !strings.Contains(sc, "theme=light") || !strings.Contains(sc, "Path="+path) {
			t.Errorf("Set-Cookie %q, want theme=light with Path=%s", sc, path)
		}

		// Another client has its own session.
		v = do(t, nil, "GET", s.URL+"/visits", "", nil).json(t)
		if v["visits"] != float64(1) {
			t.Errorf("a new client's session starts at %v", v["visits"])
		}
	})
}

// TestErrorHandlers: Flask's error handlers answer, with the request id.
func TestErrorHandlers(t *testing.T) {
	mounts(t, func(t *testing.T, s *site) {
		r := do(t, nil, "GET", s.URL+"/no/such/page", "", nil, "X-Request-Id", "e-404")
		wantStatus(t, r, 404)
		if v := r.json(t); v["error"] != "Not Found" || v["request_id"] != "e-404" {
			t.Errorf("404 = %v", v)
		}

		r = do(t, nil, "GET", s.URL+"/private", "", nil)
		wantStatus(t, r, 401)
		if v := r.json(t); v["error"] != "Unauthorized" {
			t.Errorf("401 = %v", v)
		}
		r = do(t, nil, "GET", s.URL+"/private", aliceToken, nil)
		wantStatus(t, r, 200)

		r = do(t, nil, "POST", s.URL+"/reserve/13", "", nil, "X-Request-Id", "e-409")
		wantStatus(t, r, 409)
		if v := r.json(t); v["detail"] != "seat 13 is taken" || v["request_id"] != "e-409" {
			t.Errorf("409 = %v", v)
		}

		r = do(t, nil, "GET", s.URL+"/boom", "", nil, "X-Request-Id", "e-500")
		wantStatus(t, r, 500)
		if !bytes.Contains(r.Body, []byte("<code>e-500</code>")) {
			t.Errorf("500 page lacks the request id:\n%s", r.Body)
		}
		// Flask logged the traceback through wsgi.errors to the Go logger.
		deadline := time.Now().Add(2 * time.Second)
		for !strings.Contains(s.logs.String(), "RuntimeError: the legacy code failed") {
			if time.Now().After(deadline) {
				t.Errorf("the traceback of /boom is not in the Go log:\n%s", s.logs.String())
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestConcurrent: Go and Flask requests at once, each keeping its own
// identity (run with -race).
func TestConcurrent(t *testing.T) {
	s := newSite(t, "/legacy/")
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, user := aliceToken, "alice"
			if i%2 == 1 {
				tok, user = bobToken, "bob"
			}
			rid := fmt.Sprintf("c-%d", i)
			path := s.URL + "/whoami"
			key := "remote_user"
			if i%4 == 0 {
				path, key = s.Root+"/api/v2/whoami", "user"
			}
			req, _ := http.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("X-Request-Id", rid)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var v map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
				t.Errorf("%s: %s, %v", path, resp.Status, err)
				return
			}
			if v[key] != user || v["request_id"] != rid {
				t.Errorf("%s as %s/%s: %v", path, user, rid, v)
			}
		}()
	}
	wg.Wait()
}
