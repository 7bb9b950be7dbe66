package wsgi_test

// The environ a real request produces, as the app sees it (PEP 3333).

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

func TestEnvironKeysAndTypes(t *testing.T) {
	srv, _ := validatedServer(t)
	_, port, _ := net.SplitHostPort(hostOf(srv))
	req, _ := http.NewRequest("GET", srv.URL+"/environ/some/path?a=1&b=%20x&c", nil)
	req.Header.Set("User-Agent", "gowsgi-test")
	e := getEnviron(t, client, req)

	e.wantStr(t, "REQUEST_METHOD", "GET")
	e.wantStr(t, "SCRIPT_NAME", "")
	e.wantStr(t, "PATH_INFO", "/environ/some/path")
	e.wantStr(t, "QUERY_STRING", "a=1&b=%20x&c")
	e.wantStr(t, "REQUEST_URI", "/environ/some/path?a=1&b=%20x&c")
	e.wantStr(t, "RAW_URI", "/environ/some/path?a=1&b=%20x&c")
	e.wantStr(t, "SERVER_NAME", "127.0.0.1")
	e.wantStr(t, "SERVER_PORT", port) // a str, not an int
	e.wantStr(t, "SERVER_PROTOCOL", "HTTP/1.1")
	e.wantStr(t, "REMOTE_ADDR", "127.0.0.1")
	if p := e.str(t, "REMOTE_PORT"); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			t.Errorf("REMOTE_PORT = %q, want a port number", p)
		}
	}
	e.wantStr(t, "HTTP_HOST", hostOf(srv))
	e.wantStr(t, "HTTP_USER_AGENT", "gowsgi-test")
	e.wantStr(t, "wsgi.url_scheme", "http")
	e.str(t, "SERVER_SOFTWARE")

	if v := e["wsgi.version"]; v.Type != "tuple" || fmt.Sprint(v.Value) != "[1 0]" {
		t.Errorf("wsgi.version = %s %v, want the tuple (1, 0)", v.Type, v.Value)
	}
	e.wantBool(t, "wsgi.multiprocess", false)
	e.wantBool(t, "wsgi.run_once", false)
	if _, ok := e["wsgi.multithread"]; !ok {
		t.Error("environ has no wsgi.multithread")
	} else if e["wsgi.multithread"].Type != "bool" {
		t.Errorf("wsgi.multithread is %s, want bool", e["wsgi.multithread"].Type)
	}
	for _, k := range []string{"wsgi.input", "wsgi.errors", "wsgi.file_wrapper"} {
		if _, ok := e[k]; !ok {
			t.Errorf("environ has no %s", k)
		}
	}
	// A GET without a body has no CONTENT_TYPE or CONTENT_LENGTH, and
	// never the HTTP_CONTENT_* forms.
	e.wantAbsent(t, "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")
	// Every CGI variable (no dot in the key) is a str.
	for k, v := range e {
		if !strings.Contains(k, ".") && v.Type != "str" {
			t.Errorf("environ[%s] is %s, want str", k, v.Type)
		}
	}
}

func TestEnvironContentHeaders(t *testing.T) {
	srv, _ := validatedServer(t)
	req, _ := http.NewRequest("POST", srv.URL+"/environ", strings.NewReader("hello"))
	req.Header.Set("Content-Type", "text/plain; charset=latin-1")
	e := getEnviron(t, client, req)
	e.wantStr(t, "REQUEST_METHOD", "POST")
	e.wantStr(t, "CONTENT_LENGTH", "5")
	e.wantStr(t, "CONTENT_TYPE", "text/plain; charset=latin-1")
	e.wantAbsent(t, "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")

	// A body with a type but sent chunked: CONTENT_TYPE, no CONTENT_LENGTH.
	req, _ = http.NewRequest("PUT", srv.URL+"/environ", struct{ *strings.Reader }{strings.NewReader("chunked")})
	req.Header.Set("Content-Type", "application/x-thing")
	e = getEnviron(t, client, req)
	e.wantStr(t, "CONTENT_TYPE", "application/x-thing")
	e.wantAbsent(t, "CONTENT_LENGTH", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")
	e.wantBool(t, "wsgi.input_terminated", true)
}

// TestEnvironRawPaths sends request targets Go's client would clean.
func TestEnvironRawPaths(t *testing.T) {
	srv, _ := validatedServer(t)
	for _, tc := range []struct {
		target, path, query string
	}{
		{"/environ/a%2Fb", "/environ/a/b", ""},
		{"/environ//x/../y/./z", "/environ//x/../y/./z", ""},
		{"/environ/a%2F..%2Fb", "/environ/a/../b", ""},
		{"/environ/caf%C3%A9", "/environ/caf\u00c3\u00a9", ""}, // UTF-8 bytes, each a latin-1 char
		{"/environ/%E9t%E9", "/environ/\u00e9t\u00e9", ""},
		{"/environ/a%20b+c?q=%2F%20+x&&y=%E9", "/environ/a b+c", "q=%2F%20+x&&y=%E9"},
		{"/environ/%25zz", "/environ/%zz", ""},
		{"/environ?", "/environ", ""},
	} {
		t.Run(tc.target, func(t *testing.T) {
			resp, body := rawRoundTrip(t, hostOf(srv),
				"GET "+tc.target+" HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n")
			var e environ
			decodeJSON(t, resp, body, &e)
			e.wantStr(t, "PATH_INFO", tc.path)
			e.wantStr(t, "QUERY_STRING", tc.query)
			e.wantStr(t, "REQUEST_URI", tc.target)
			e.wantStr(t, "RAW_URI", tc.target)
			e.wantStr(t, "SCRIPT_NAME", "")
			e.wantStr(t, "SERVER_NAME", "example.test")
			e.wantStr(t, "SERVER_PORT", "80")
		})
	}
}

// TestEnvironHTTP10NoHost: without a Host header the server's own address
// names it.
func TestEnvironHTTP10NoHost(t *testing.T) {
	srv, _ := validatedServer(t)
	_, port, _ := net.SplitHostPort(hostOf(srv))
	resp, body := rawRoundTrip(t, hostOf(srv), "GET /environ?x HTTP/1.0\r\n\r\n")
	var e environ
	decodeJSON(t, resp, body, &e)
	e.wantStr(t, "SERVER_PROTOCOL", "HTTP/1.0")
	e.wantStr(t, "SERVER_NAME", "127.0.0.1")
	e.wantStr(t, "SERVER_PORT", port)
	e.wantStr(t, "QUERY_STRING", "x")
	e.wantAbsent(t, "HTTP_HOST")
}

func TestEnvironRemoteAddr(t *testing.T) {
	srv, _ := validatedServer(t)
	conn := rawConn(t, hostOf(srv))
	local := conn.LocalAddr().(*net.TCPAddr)
	if _, err := fmt.Fprintf(conn, "GET /environ HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, body := readRawResponse(t, conn, "GET")
	var e environ
	decodeJSON(t, resp, body, &e)
	e.wantStr(t, "REMOTE_ADDR", local.IP.String())
	e.wantStr(t, "REMOTE_PORT", strconv.Itoa(local.Port))
}

func TestEnvironScriptName(t *testing.T) {
	app, _ := loadApp(t, "validated:app")
	explicit, _ := loadApp(t, "validated:app", wsgi.WithScriptName("/explicit"))
	rootOverride, _ := loadApp(t, "validated:app", wsgi.WithScriptName(""))

	mux := http.NewServeMux()
	mux.Handle("/legacy/", app)
	mux.Handle("/deep/er/", app)
	mux.Handle("/strip/", http.StripPrefix("/strip", app))
	mux.Handle("/override/", rootOverride)
	mux.Handle("GET /getonly/", app)
	mux.Handle("127.0.0.1/hosted/", app)
	muxSrv := serve(t, mux)
	explicitSrv := serve(t, explicit)

	for _, tc := range []struct {
		name         string
		url          string
		script, path string
	}{
		{"mux prefix", muxSrv.URL + "/legacy/environ/x?y=1", "/legacy", "/environ/x"},
		{"mux prefix root", muxSrv.URL + "/legacy/", "/legacy", "/"},
		{"mux deeper prefix", muxSrv.URL + "/deep/er/environ", "/deep/er", "/environ"},
		{"StripPrefix", muxSrv.URL + "/strip/environ/s", "/strip", "/environ/s"},
		{"pattern with a method", muxSrv.URL + "/getonly/environ", "/getonly", "/environ"},
		{"pattern with a host", muxSrv.URL + "/hosted/environ", "/hosted", "/environ"},
		{"WithScriptName", explicitSrv.URL + "/explicit/environ/e", "/explicit", "/environ/e"},
		{"WithScriptName root", explicitSrv.URL + "/explicit", "/explicit", ""},
		{"WithScriptName empty overrides the mux", muxSrv.URL + "/override/environ", "", "/override/environ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", tc.url, nil)
			e := getEnviron(t, client, req)
			e.wantStr(t, "SCRIPT_NAME", tc.script)
			e.wantStr(t, "PATH_INFO", tc.path)
			want := strings.TrimPrefix(strings.TrimPrefix(tc.url, muxSrv.URL), explicitSrv.URL)
			e.wantStr(t, "REQUEST_URI", want)
		})
	}

	// An encoded slash under a mount is decoded in PATH_INFO only.
	resp, body := rawRoundTrip(t, hostOf(muxSrv),
		"GET /legacy/environ/a%2Fb HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	var e environ
	decodeJSON(t, resp, body, &e)
	e.wantStr(t, "SCRIPT_NAME", "/legacy")
	e.wantStr(t, "PATH_INFO", "/environ/a/b")
	e.wantStr(t, "REQUEST_URI", "/legacy/environ/a%2Fb")
}

func TestEnvironRequestHeaders(t *testing.T) {
	srv, _ := validatedServer(t)
	req, _ := http.NewRequest("GET", srv.URL+"/environ", nil)
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	req.Header.Add("Cookie", "a=1")
	req.Header.Add("Cookie", "b=2")
	req.Header["X-Auth-User"] = []string{"good"}
	req.Header["X_Auth_User"] = []string{"evil"}       // would map to the same key
	req.Header["X_Only_Underscore"] = []string{"v"}    // dropped, not renamed
	req.Header["X-Dash-Only"] = []string{"kept"}       // control
	req.Header["Accept-Language"] = []string{"en, fr"} // one header with a comma
	e := getEnviron(t, client, req)
	e.wantStr(t, "HTTP_X_MULTI", "a, b")
	e.wantStr(t, "HTTP_COOKIE", "a=1; b=2")
	e.wantStr(t, "HTTP_X_AUTH_USER", "good")
	e.wantStr(t, "HTTP_X_DASH_ONLY", "kept")
	e.wantStr(t, "HTTP_ACCEPT_LANGUAGE", "en, fr")
	e.wantAbsent(t, "HTTP_X_ONLY_UNDERSCORE")
	for k := range e {
		if strings.Contains(strings.ToUpper(k), "UNDERSCORE") && k != "HTTP_X_ONLY_UNDERSCORE" {
			t.Errorf("environ has %s: a header with '_' in its name must be dropped", k)
		}
	}

	// The same over a raw connection, where the header order is ours.
	resp, body := rawRoundTrip(t, hostOf(srv), "GET /environ HTTP/1.1\r\nHost: h\r\n"+
		"X_Auth_User: evil\r\nX-Auth-User: good\r\nCookie: c=3\r\nCookie: d=4\r\n"+
		"X-Multi: 1\r\nX-Multi: 2\r\nX-Latin: caf\xe9\r\nX-Utf8: caf\xc3\xa9\r\nx-lower-case: v\r\nX-Empty:\r\nConnection: close\r\n\r\n")
	var e2 environ
	decodeJSON(t, resp, body, &e2)
	e2.wantStr(t, "HTTP_X_LATIN", "caf\u00e9")      // header bytes decoded as latin-1
	e2.wantStr(t, "HTTP_X_UTF8", "caf\u00c3\u00a9") // byte for byte, not UTF-8
	e2.wantStr(t, "HTTP_X_LOWER_CASE", "v")
	e2.wantStr(t, "HTTP_X_EMPTY", "")
	e2.wantStr(t, "HTTP_X_AUTH_USER", "good")
	e2.wantStr(t, "HTTP_COOKIE", "c=3; d=4")
	e2.wantStr(t, "HTTP_X_MULTI", "1, 2")
}

func TestEnvironTLS(t *testing.T) {
	app, _ := loadApp(t, "validated:app")
	srv := httptest.NewTLSServer(app)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(hostOf(srv))
	req, _ := http.NewRequest("GET", srv.URL+"/environ", nil)
	req.Header.Set("X-Forwarded-Proto", "http")
	e := getEnviron(t, srv.Client(), req)
	e.wantStr(t, "wsgi.url_scheme", "https")
	e.wantStr(t, "SERVER_PORT", port)
	e.wantStr(t, "SERVER_PROTOCOL", "HTTP/1.1")

	// Plain HTTP with a spoofed header stays http.
	plain := serve(t, app)
	req, _ = http.NewRequest("GET", plain.URL+"/environ", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Ssl", "on")
	req.Header.Set("Forwarded", "proto=https")
	e = getEnviron(t, client, req)
	e.wantStr(t, "wsgi.url_scheme", "http")
	e.wantStr(t, "HTTP_X_FORWARDED_PROTO", "https") // passed on as a header, nothing more
	e.wantAbsent(t, "HTTPS")
}

func TestHTTP2(t *testing.T) {
	app, _ := loadApp(t, "validated:app")
	srv := httptest.NewUnstartedServer(app)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.Timeout = 20 * time.Second

	req, _ := http.NewRequest("GET", srv.URL+"/environ/h2?x=1", nil)
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	resp, body := do(t, c, req)
	if resp.ProtoMajor != 2 {
		t.Fatalf("the client spoke %s, want HTTP/2", resp.Proto)
	}
	var e environ
	decodeJSON(t, resp, body, &e)
	e.wantStr(t, "SERVER_PROTOCOL", "HTTP/2.0")
	e.wantStr(t, "wsgi.url_scheme", "https")
	e.wantStr(t, "PATH_INFO", "/environ/h2")
	e.wantStr(t, "QUERY_STRING", "x=1")
	e.wantStr(t, "HTTP_X_MULTI", "a, b")
	e.wantStr(t, "HTTP_HOST", hostOf(srv))

	// A body of unknown length over HTTP/2 (no chunked encoding there).
	body2 := strings.Repeat("h2 line\n", 10000)
	req, _ = http.NewRequest("POST", srv.URL+"/input?how=sha&n=5000", struct{ *strings.Reader }{strings.NewReader(body2)})
	resp, body = do(t, c, req)
	var in inputReport
	decodeJSON(t, resp, body, &in)
	if in.Len != len(body2) || in.SHA256 != sha(body2) {
		t.Errorf("HTTP/2 upload: the app read %d bytes (sha %s), want %d (sha %s)", in.Len, in.SHA256, len(body2), sha(body2))
	}
	if in.InputTerminated != true {
		t.Errorf("HTTP/2 upload without a length: wsgi.input_terminated = %v, want True", in.InputTerminated)
	}

	// Streaming works over HTTP/2 too: block 1 arrives before block 2 is made.
	req, _ = http.NewRequest("GET", srv.URL+"/stream?delay=0.4", nil)
	checkStreamed(t, c, req, 0.4)

	// The close() counters are module-level: read them over plain HTTP.
	plain := serve(t, app)

	t.Run("stream reset mid-response calls close()", func(t *testing.T) {
		id := newCloseID(t)
		resp, err := c.Get(srv.URL + "/tracked?mode=endless&id=" + id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 2048)); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close() // RST_STREAM; the connection stays up
		r := waitCloses(t, plain.URL, id)
		if r.Closes != 1 || r.Exhausted {
			t.Errorf("close() called %d times (ran to the end: %v), want once, early", r.Closes, r.Exhausted)
		}
	})

	t.Run("exc_info after send aborts the stream", func(t *testing.T) {
		id := newCloseID(t)
		resp, err := c.Get(srv.URL + "/exc_after?id=" + id)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil || string(body) != "first block\n" {
			t.Errorf("got %q, err %v; want the first block then a reset stream", body, err)
		}
		// The connection is still good for other streams.
		resp, body = do(t, c, mustRequest(t, "GET", srv.URL+"/head"))
		if resp.StatusCode != 200 || len(body) != 100 {
			t.Errorf("next stream: %s %d bytes", resp.Status, len(body))
		}
	})
}

func mustRequest(t testing.TB, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestWithEnviron(t *testing.T) {
	type ctxKey struct{}
	app, rec := loadApp(t, "validated:app", wsgi.WithEnviron(func(r *http.Request) map[string]string {
		m := map[string]string{"myapp.request_id": "rid-1"}
		if u, ok := r.Context().Value(ctxKey{}).(string); ok {
			m["REMOTE_USER"] = u
		}
		if r.URL.Query().Get("spoof") != "" {
			m["HTTP_X_AUTH_USER"] = "spoofed"
		}
		return m
	}))
	// A Go middleware that authenticates and passes the user on.
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "alice")))
	})
	srv := serve(t, auth)
	e := getEnviron(t, client, mustRequest(t, "GET", srv.URL+"/environ"))
	e.wantStr(t, "myapp.request_id", "rid-1")
	e.wantStr(t, "REMOTE_USER", "alice")

	// An entry posing as a request header is refused: 500, logged.
	resp, body := get(t, srv.URL+"/environ?spoof=1")
	want500(t, resp, body)
	rec.waitLog(t, "HTTP_X_AUTH_USER")
}
