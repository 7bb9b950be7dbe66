package environ

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parse reads a request from raw bytes the way a net/http server does.
func parse(t testing.TB, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("ReadRequest(%q): %v", raw, err)
	}
	r.RemoteAddr = "192.0.2.1:1234"
	return r
}

// env builds r and decodes the result into a map, failing on a malformed
// buffer or a repeated key.
func env(t testing.TB, r *http.Request, opt *Options) (map[string]string, Flags) {
	t.Helper()
	packed, flags := Build(nil, r, opt)
	vars, err := Decode(packed)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		if _, dup := m[v.Key]; dup {
			t.Fatalf("key %q appears twice", v.Key)
		}
		m[v.Key] = v.Value
	}
	return m, flags
}

// check compares the keys of want with got; a want value of absent means
// the key must be missing.
func check(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		switch {
		case w == absent && ok:
			t.Errorf("%s = %q, want it absent", k, g)
		case w != absent && !ok:
			t.Errorf("%s missing, want %q", k, w)
		case w != absent && g != w:
			t.Errorf("%s = %q, want %q", k, g, w)
		}
	}
}

const absent = "\x00<absent>"

func TestBuildFull(t *testing.T) {
	r := parse(t, "GET /a%2Fb//c/../d?x=%20y HTTP/1.1\r\n"+
		"Host: example.com\r\nUser-Agent: test\r\nX-Custom-Thing: v\r\n\r\n")
	got, flags := env(t, r, nil)
	want := map[string]string{
		"REQUEST_METHOD":      "GET",
		"SCRIPT_NAME":         "",
		"PATH_INFO":           "/a/b//c/../d",
		"QUERY_STRING":        "x=%20y",
		"REQUEST_URI":         "/a%2Fb//c/../d?x=%20y",
		"RAW_URI":             "/a%2Fb//c/../d?x=%20y",
		"SERVER_PROTOCOL":     "HTTP/1.1",
		"SERVER_NAME":         "example.com",
		"SERVER_PORT":         "80",
		"REMOTE_ADDR":         "192.0.2.1",
		"REMOTE_PORT":         "1234",
		"wsgi.url_scheme":     "http",
		"HTTP_HOST":           "example.com",
		"HTTP_USER_AGENT":     "test",
		"HTTP_X_CUSTOM_THING": "v",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Build (-want +got):\n%s", diff)
	}
	if flags != 0 {
		t.Errorf("flags = %v, want 0", flags)
	}
}

func TestBuildAppends(t *testing.T) {
	prefix := AppendVar(nil, "before", "x")
	r := httptest.NewRequest("GET", "/", nil)
	packed, _ := Build(prefix, r, nil)
	vars, err := Decode(packed)
	if err != nil {
		t.Fatal(err)
	}
	if vars[0] != (Var{"before", "x"}) || vars[1].Key != "REQUEST_METHOD" {
		t.Errorf("Build did not append after existing records: %q", vars[:2])
	}
}

func TestBuildPath(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want map[string]string
	}{
		{"encoded slash, dots and double slash", "GET /a%2Fb//c/../d?x=%20y HTTP/1.1\r\nHost: h\r\n\r\n",
			map[string]string{"PATH_INFO": "/a/b//c/../d", "SCRIPT_NAME": "", "QUERY_STRING": "x=%20y"}},
		{"absolute form", "GET http://example.org:8080/p%41th?q HTTP/1.1\r\nHost: other\r\n\r\n",
			map[string]string{"PATH_INFO": "/pAth", "SCRIPT_NAME": "", "QUERY_STRING": "q",
				"REQUEST_URI": "http://example.org:8080/p%41th?q", "HTTP_HOST": "example.org:8080",
				"SERVER_NAME": "example.org", "SERVER_PORT": "8080"}},
		{"absolute form without path", "GET http://example.org?x=1 HTTP/1.1\r\nHost: other\r\n\r\n",
			map[string]string{"PATH_INFO": "", "SCRIPT_NAME": "", "QUERY_STRING": "x=1"}},
		{"raw latin-1 byte and UTF-8 escape", "GET /caf\xe9/%C3%A9 HTTP/1.1\r\nHost: h\r\n\r\n",
			map[string]string{"PATH_INFO": "/caf\xe9/\xc3\xa9", "REQUEST_URI": "/caf\xe9/%C3%A9"}},
		{"NUL and 0xFF", "GET /a%00b%ff HTTP/1.1\r\nHost: h\r\n\r\n",
			map[string]string{"PATH_INFO": "/a\x00b\xff"}},
		{"escaped percent decoded once", "GET /100%2541 HTTP/1.1\r\nHost: h\r\n\r\n",
			map[string]string{"PATH_INFO": "/100%41"}},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
			map[string]string{"PATH_INFO": "*", "SCRIPT_NAME": "", "REQUEST_URI": "*"}},
		{"empty query", "GET /x? HTTP/1.1\r\nHost: h\r\n\r\n",
			map[string]string{"PATH_INFO": "/x", "QUERY_STRING": "", "REQUEST_URI": "/x?"}},
		{"HTTP/1.0", "HEAD /x HTTP/1.0\r\n\r\n",
			map[string]string{"REQUEST_METHOD": "HEAD", "SERVER_PROTOCOL": "HTTP/1.0", "HTTP_HOST": absent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := env(t, parse(t, tt.raw), nil)
			check(t, got, tt.want)
		})
	}
}

func TestBuildClientRequest(t *testing.T) {
	// A request made with NewRequest has no RequestURI and no Method
	// default; Build fills both in.
	r, err := http.NewRequest("", "http://example.com/a%2Fb?x=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := env(t, r, nil)
	check(t, got, map[string]string{
		"REQUEST_METHOD": "GET", "REQUEST_URI": "/a%2Fb?x=1", "RAW_URI": "/a%2Fb?x=1",
		"PATH_INFO": "/a/b", "REMOTE_ADDR": absent, "REMOTE_PORT": absent,
	})

	// A bare request with nothing set must not crash.
	got, _ = env(t, &http.Request{}, nil)
	check(t, got, map[string]string{
		"REQUEST_METHOD": "GET", "PATH_INFO": "", "SCRIPT_NAME": "", "REQUEST_URI": "/",
		"SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
	})
}

func TestBuildScriptName(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		scriptName string
		script     string
		pathInfo   string
	}{
		{"prefix removed", "/legacy/x/y", "/legacy", "/legacy", "/x/y"},
		{"exact prefix", "/legacy", "/legacy", "/legacy", ""},
		{"prefix and slash", "/legacy/", "/legacy", "/legacy", "/"},
		{"not at segment boundary", "/legacyx", "/legacy", "/legacy", "/legacyx"},
		{"path elsewhere", "/other", "/legacy", "/legacy", "/other"},
		{"root", "/legacy/x", "", "", "/legacy/x"},
		{"trailing slash ignored", "/legacy/x", "/legacy/", "/legacy", "/x"},
		{"decoded path", "/legacy%2Fx", "/legacy", "/legacy", "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			got, _ := env(t, r, &Options{ScriptName: tt.scriptName, ScriptNameSet: true})
			check(t, got, map[string]string{"SCRIPT_NAME": tt.script, "PATH_INFO": tt.pathInfo})
		})
	}
}

// through passes r through h and returns the request that reached the
// innermost handler.
func through(t *testing.T, wrap func(http.Handler) http.Handler, r *http.Request) *http.Request {
	t.Helper()
	var seen *http.Request
	h := wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r }))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if seen == nil {
		t.Fatalf("request for %q did not reach the handler", r.RequestURI)
	}
	return seen
}

func TestBuildStripPrefix(t *testing.T) {
	tests := []struct {
		name     string
		prefix   string
		target   string
		script   string
		pathInfo string
	}{
		{"simple", "/legacy", "/legacy/x/y?q=1", "/legacy", "/x/y"},
		{"prefix with slash", "/legacy/", "/legacy/x", "/legacy", "/x"},
		{"whole path", "/legacy", "/legacy", "/legacy", ""},
		{"whole path with slash", "/legacy/", "/legacy/", "/legacy", "/"},
		{"escaped rest", "/legacy", "/legacy/a%2Fb", "/legacy", "/a/b"},
		{"escaped prefix", "/a b", "/a%20b/c", "/a b", "/c"},
		{"root prefix", "/", "/x", "", "/x"},
		{"absolute form", "/legacy", "http://example.com/legacy/x?q", "/legacy", "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := through(t, func(h http.Handler) http.Handler { return http.StripPrefix(tt.prefix, h) },
				httptest.NewRequest("GET", tt.target, nil))
			got, _ := env(t, r, nil)
			check(t, got, map[string]string{"SCRIPT_NAME": tt.script, "PATH_INFO": tt.pathInfo,
				"REQUEST_URI": tt.target})
		})
	}

	// An explicit mount point wins over inference.
	r := through(t, func(h http.Handler) http.Handler { return http.StripPrefix("/legacy", h) },
		httptest.NewRequest("GET", "/legacy/x", nil))
	got, _ := env(t, r, &Options{ScriptName: "/app", ScriptNameSet: true})
	check(t, got, map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/x"})
}

func TestBuildHeaders(t *testing.T) {
	tests := []struct {
		name    string
		headers string
		want    map[string]string
	}{
		{"repeated joined", "Accept: a\r\nAccept: b\r\n",
			map[string]string{"HTTP_ACCEPT": "a, b"}},
		{"cookie joined with semicolon", "Cookie: a=1\r\nCookie: b=2\r\n",
			map[string]string{"HTTP_COOKIE": "a=1; b=2"}},
		{"underscore dropped", "X_Auth_User: evil\r\nX-Auth-User: good\r\n",
			map[string]string{"HTTP_X_AUTH_USER": "good"}},
		{"underscore alone dropped", "X_Auth_User: evil\r\n",
			map[string]string{"HTTP_X_AUTH_USER": absent}},
		{"unknown header", "X-Custom-Thing: v\r\nX-Custom-Thing: w\r\n",
			map[string]string{"HTTP_X_CUSTOM_THING": "v, w"}},
		{"token characters kept", "X.Weird!: v\r\n",
			map[string]string{"HTTP_X.WEIRD!": "v"}},
		{"empty value", "X-Empty:\r\nReferer:\r\n",
			map[string]string{"HTTP_X_EMPTY": "", "HTTP_REFERER": ""}},
		{"latin-1 value", "X-Name: caf\xe9\r\n",
			map[string]string{"HTTP_X_NAME": "caf\xe9"}},
		{"forwarded headers are plain headers", "X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\n",
			map[string]string{"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "203.0.113.9",
				"wsgi.url_scheme": "http", "REMOTE_ADDR": "192.0.2.1"}},
		{"content type", "Content-Type: text/plain\r\n",
			map[string]string{"CONTENT_TYPE": "text/plain", "HTTP_CONTENT_TYPE": absent,
				"CONTENT_LENGTH": absent}},
		{"empty content type", "Content-Type:\r\n",
			map[string]string{"CONTENT_TYPE": ""}},
		{"no content type", "",
			map[string]string{"CONTENT_TYPE": absent, "CONTENT_LENGTH": absent}},
		{"content length zero", "Content-Length: 0\r\n",
			map[string]string{"CONTENT_LENGTH": "0", "HTTP_CONTENT_LENGTH": absent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := parse(t, "GET / HTTP/1.1\r\nHost: h\r\n"+tt.headers+"\r\n")
			got, flags := env(t, r, nil)
			check(t, got, tt.want)
			if flags != 0 {
				t.Errorf("flags = %v, want 0", flags)
			}
		})
	}
}

func TestBuildHandMadeHeaders(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header = http.Header{
		"user-agent":        {"ua"},     // not canonical, known
		"content-type":      {"a/b"},    // not canonical, special
		"content-length":    {"12"},     // never a header variable
		"Host":              {"evil"},   // r.Host wins
		"X y":               {"v"},      // not a header name
		"":                  {"v"},      // not a header name
		"X-None":            {},         // no value
		"x-lower":           {"1", "2"}, // not canonical, unknown
		"cookie":            {"a", "b"}, // not canonical cookie
		"X\x00Nul":          {"v"},      // not a header name
		"X-\xe9":            {"v"},      // not a header name
		"Transfer-Encoding": {"gzip"},   // not a header variable
	}
	got, _ := env(t, r, nil)
	want := map[string]string{
		"HTTP_USER_AGENT": "ua", "CONTENT_TYPE": "a/b", "HTTP_HOST": "example.com",
		"HTTP_X_LOWER": "1, 2", "HTTP_COOKIE": "a; b",
	}
	for k, v := range got {
		if strings.HasPrefix(k, "HTTP_") || strings.HasPrefix(k, "CONTENT_") {
			if want[k] != v {
				t.Errorf("%s = %q, want %q", k, v, want[k])
			}
			delete(want, k)
		}
	}
	for k, v := range want {
		t.Errorf("%s missing, want %q", k, v)
	}
}

func TestBuildBody(t *testing.T) {
	h2 := func(cl int64) *http.Request {
		r := httptest.NewRequest("POST", "/", io.NopCloser(strings.NewReader("body")))
		r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
		r.ContentLength = cl
		return r
	}
	tests := []struct {
		name  string
		req   func(*testing.T) *http.Request
		want  map[string]string
		flags Flags
	}{
		{"content length", func(t *testing.T) *http.Request {
			return parse(t, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
		}, map[string]string{"CONTENT_LENGTH": "5", "HTTP_TRANSFER_ENCODING": absent}, 0},
		{"no body", func(t *testing.T) *http.Request {
			return parse(t, "POST / HTTP/1.1\r\nHost: h\r\n\r\n")
		}, map[string]string{"CONTENT_LENGTH": absent, "HTTP_TRANSFER_ENCODING": absent}, 0},
		{"chunked", func(t *testing.T) *http.Request {
			return parse(t, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"+
				"Content-Type: text/plain\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
		}, map[string]string{"CONTENT_LENGTH": absent, "HTTP_TRANSFER_ENCODING": "chunked",
			"CONTENT_TYPE": "text/plain"}, InputTerminated},
		{"httptest body", func(*testing.T) *http.Request {
			return httptest.NewRequest("POST", "/", strings.NewReader("abc"))
		}, map[string]string{"CONTENT_LENGTH": "3"}, 0},
		{"HTTP/2 with length", func(*testing.T) *http.Request { return h2(7) },
			map[string]string{"CONTENT_LENGTH": "7", "HTTP_TRANSFER_ENCODING": absent,
				"SERVER_PROTOCOL": "HTTP/2.0"}, 0},
		{"HTTP/2 without length", func(*testing.T) *http.Request { return h2(-1) },
			map[string]string{"CONTENT_LENGTH": absent, "HTTP_TRANSFER_ENCODING": "chunked"},
			InputTerminated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, flags := env(t, tt.req(t), nil)
			check(t, got, tt.want)
			if flags != tt.flags {
				t.Errorf("flags = %v, want %v", flags, tt.flags)
			}
		})
	}
}

func TestBuildServer(t *testing.T) {
	local := func(addr string) context.Context {
		return context.WithValue(context.Background(), http.LocalAddrContextKey,
			net.TCPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	}
	tests := []struct {
		name   string
		host   string
		tls    bool
		ctx    context.Context
		server string
		port   string
	}{
		{"host", "example.com", false, nil, "example.com", "80"},
		{"host https", "example.com", true, nil, "example.com", "443"},
		{"host and port", "example.com:8443", true, nil, "example.com", "8443"},
		{"IPv4", "192.0.2.7:81", false, nil, "192.0.2.7", "81"},
		{"IPv6", "[2001:db8::1]:8080", false, nil, "2001:db8::1", "8080"},
		{"IPv6 without port", "[::1]", true, nil, "::1", "443"},
		{"empty port", "example.com:", false, nil, "example.com", "80"},
		{"bad port", "example.com:http", false, nil, "example.com", "80"},
		{"bare IPv6", "::1", false, nil, "::1", "80"},
		{"no host", "", false, nil, "localhost", "80"},
		{"no host https", "", true, nil, "localhost", "443"},
		{"no host, local address", "", false, local("10.0.0.1:8000"), "10.0.0.1", "8000"},
		{"no host, local IPv6", "", true, local("[2001:db8::2]:8443"), "2001:db8::2", "8443"},
		{"no host, mapped IPv4", "", false, local("[::ffff:10.0.0.3]:81"), "10.0.0.3", "81"},
		{"port only", ":8080", false, nil, "localhost", "8080"},
		{"port only, local address", ":8080", false, local("10.0.0.1:8000"), "10.0.0.1", "8080"},
		{"local address ignored", "example.com", false, local("10.0.0.1:8000"), "example.com", "80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.ctx != nil {
				r = r.WithContext(tt.ctx)
			}
			r.Host = tt.host
			r.TLS = nil
			scheme := "http"
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
				scheme = "https"
			}
			got, _ := env(t, r, nil)
			check(t, got, map[string]string{"SERVER_NAME": tt.server, "SERVER_PORT": tt.port,
				"wsgi.url_scheme": scheme})
		})
	}
}

func TestBuildRemote(t *testing.T) {
	tests := []struct {
		remote     string
		addr, port string
	}{
		{"192.0.2.1:1234", "192.0.2.1", "1234"},
		{"[2001:db8::1]:443", "2001:db8::1", "443"},
		{"[fe80::1%eth0]:443", "fe80::1%eth0", "443"},
		{"@", absent, absent},
		{"", absent, absent},
		{"/run/app.sock", absent, absent},
		{"2001:db8::1", absent, absent},
		{"[::1]", absent, absent},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			got, _ := env(t, r, nil)
			check(t, got, map[string]string{"REMOTE_ADDR": tt.addr, "REMOTE_PORT": tt.port})
		})
	}
}

func TestSplitHostPortMatchesNet(t *testing.T) {
	for _, addr := range []string{
		"192.0.2.1:1234", "[2001:db8::1]:443", "[fe80::1%eth0]:1", "@", "", "host:", ":80",
		"a:b:c", "[::1]", "[::1]x", "[::1]:", "[a[b]:1", "a]:1", "x:y]", "[::1]:8[0]",
	} {
		h, p, ok := splitHostPort(addr)
		nh, np, err := net.SplitHostPort(addr)
		if ok != (err == nil) || h != nh || p != np {
			t.Errorf("splitHostPort(%q) = %q, %q, %v; net: %q, %q, %v", addr, h, p, ok, nh, np, err)
		}
	}
}

func TestAppendUnescaped(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"/plain", "/plain"},
		{"%41%42", "AB"},
		{"%2f%2F", "//"},
		{"%00%ff%FF", "\x00\xff\xff"},
		{"%2541", "%41"},
		{"%", "%"},
		{"%4", "%4"},
		{"%zz/%4g", "%zz/%4g"},
		{"a%%41", "a%A"},
		{"100%", "100%"},
	}
	for _, tt := range tests {
		if got := string(appendUnescaped([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("appendUnescaped(%q) = %q, want %q", tt.in, got[1:], tt.want)
		}
	}
}

func TestKeys(t *testing.T) {
	seen := map[string]bool{}
	for id, k := range Keys {
		if k == "" || seen[k] {
			t.Errorf("Keys[%d] = %q: empty or repeated", id, k)
		}
		seen[k] = true
		for i := 0; i < len(k); i++ {
			if c := k[i]; c <= ' ' || c >= 0x7f {
				t.Errorf("Keys[%d] = %q: not printable ASCII", id, k)
			}
		}
	}
	if len(Keys) >= LiteralKey || len(Keys) != numKeys {
		t.Errorf("len(Keys) = %d", len(Keys))
	}

	// Every HTTP_* key but the ones Build takes from elsewhere is reached
	// through the table, in one byte.
	for id := KeyHTTPHost; id < numKeys; id++ {
		if id == KeyHTTPHost || id == KeyHTTPTransferEncoding {
			continue
		}
		name := strings.ReplaceAll(strings.TrimPrefix(Keys[id], "HTTP_"), "_", "-")
		r := parse(t, "GET / HTTP/1.1\r\n"+name+": v\r\n\r\n")
		packed, _ := Build(nil, r, nil)
		if !hasIDRecord(packed, uint8(id), "v") {
			t.Errorf("header %s: no record with key id %d (%s)", name, id, Keys[id])
		}
	}
}

// hasIDRecord reports whether packed holds a record with key id id and
// the value.
func hasIDRecord(packed []byte, id uint8, value string) bool {
	for off := 0; off < len(packed); {
		rid := packed[off]
		off++
		if rid == LiteralKey {
			_, off, _ = readString(packed, off)
		}
		var v string
		v, off, _ = readString(packed, off)
		if rid == id && v == value {
			return true
		}
	}
	return false
}

// TestBuildRealServer drives Build from a real server: the local address, a
// chunked body and a request without Host.
func TestBuildRealServer(t *testing.T) {
	type result struct {
		env   map[string]string
		flags Flags
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, flags := env(t, r, nil)
		results <- result{e, flags}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().(*net.TCPAddr)

	send := func(raw string) result {
		t.Helper()
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
		return <-results
	}

	got := send("GET /x HTTP/1.0\r\n\r\n")
	check(t, got.env, map[string]string{
		"SERVER_NAME": "127.0.0.1", "SERVER_PORT": strconv.Itoa(addr.Port), "REMOTE_ADDR": "127.0.0.1",
		"HTTP_HOST": absent, "SERVER_PROTOCOL": "HTTP/1.0",
	})
	if got.env["REMOTE_PORT"] == "" {
		t.Error("REMOTE_PORT empty")
	}

	got = send("POST /up HTTP/1.1\r\nHost: example.com:99\r\nTransfer-Encoding: chunked\r\n" +
		"Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	check(t, got.env, map[string]string{
		"SERVER_NAME": "example.com", "SERVER_PORT": "99", "HTTP_TRANSFER_ENCODING": "chunked",
		"CONTENT_LENGTH": absent, "HTTP_CONNECTION": "close",
	})
	if got.flags != InputTerminated {
		t.Errorf("flags = %v, want InputTerminated", got.flags)
	}
}

// benchRequest is a typical browser request.
func benchRequest(tb testing.TB) *http.Request {
	return parse(tb, "GET /app/items/42?page=2&sort=name HTTP/1.1\r\n"+
		"Host: www.example.com\r\n"+
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0\r\n"+
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"+
		"Accept-Language: en-US,en;q=0.5\r\n"+
		"Accept-Encoding: gzip, deflate, br\r\n"+
		"Connection: keep-alive\r\n"+
		"Cookie: sessionid=abc123; csrftoken=def456\r\n"+
		"Upgrade-Insecure-Requests: 1\r\n"+
		"\r\n")
}

func TestBuildNoAllocs(t *testing.T) {
	r := benchRequest(t)
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() { buf, _ = Build(buf[:0], r, nil) })
	if allocs != 0 {
		t.Errorf("Build allocates %v times per request, want 0", allocs)
	}
}

func BenchmarkBuild(b *testing.B) {
	r := benchRequest(b)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf, _ = Build(buf[:0], r, nil)
	}
}
