package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawResponse is what rawGet read back.
type rawResponse struct {
	status int
	header http.Header
	body   string
}

// rawGet sends "METHOD TARGET HTTP/1.1" with the header lines in hdr on a
// new connection, the target exactly as given (no client-side cleaning),
// and reads the response.
func rawGet(t *testing.T, addr, method, target string, hdr ...string) rawResponse {
	t.Helper()
	conn := dialRaw(t, addr)
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n", method, target)
	for _, h := range hdr {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, target, err)
	}
	return rawResponse{resp.StatusCode, resp.Header, string(body)}
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, s)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const secret = "TOP SECRET, outside every --static directory"

// staticTree makes a directory of files to serve, beside a secret file
// that must never be served.
func staticTree(t *testing.T) (root, static string) {
	t.Helper()
	root = t.TempDir()
	static = filepath.Join(root, "static")
	css := strings.Repeat("body { color: red }\n", 20)
	for name, data := range map[string]string{
		"secret.txt":               secret,
		"static/app.css":           css,
		"static/app.css.gz":        gzipped(t, css),
		"static/app.css.br":        "pretend brotli bytes",
		"static/only-gz.js":        "var a = 1;\n",
		"static/only-gz.js.gz":     gzipped(t, "var a = 1;\n"),
		"static/plain.txt":         "plain file\n",
		"static/page":              "<!DOCTYPE html><p>no extension</p>\n",
		"static/page.gz":           gzipped(t, "<!DOCTYPE html><p>no extension</p>\n"),
		"static/leak.js":           "var leak = false;\n",
		"static/sub/index.html":    "<p>index</p>\n",
		"static/sub/deep.txt":      "deep file\n",
		"static/sub/..\\plain.txt": "a file whose name has a backslash\n",
		"special/x.txt":            "from the longer prefix\n",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"static/link-in.txt":  "plain.txt",                         // inside: served
		"static/sub/up.txt":   "../plain.txt",                      // inside too
		"static/link-out.txt": "../secret.txt",                     // outside: refused
		"static/abs-out.txt":  filepath.Join(root, "secret.txt"),   // outside, absolute
		"static/dir-out":      "..",                                // a directory outside
		"static/leak.js.gz":   "../secret.txt",                     // a sibling outside: not sent
		"static/loop.txt":     "loop.txt",                          // resolves nowhere
		"static/dangling.txt": filepath.Join(root, "no-such-file"), // resolves nowhere
	} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	return root, static
}

// TestCLIStatic serves --static directories in front of the app through
// the real command: validators, ranges, precompressed siblings, 404 and
// 405 from Go without calling the app, and no way out of the directory.
func TestCLIStatic(t *testing.T) {
	root, static := staticTree(t)
	addr := freePort(t)
	p := startGowsgi(t, nil, "--bind", addr, "--threads", "2", "--chdir", appDir,
		"--static", "/static="+static, "--static", "/static/special/="+filepath.Join(root, "special"),
		"--static", "/cwd=.", // relative: to --chdir
		"--static-max-age", "1h", "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	base := "http://" + addr
	waitReady(t, p, c, base+"/")
	before := appCalls(t, c, base)

	css := strings.Repeat("body { color: red }\n", 20)
	plain := rawGet(t, addr, "GET", "/static/plain.txt")
	etag, lastMod := plain.header.Get("ETag"), plain.header.Get("Last-Modified")
	if plain.status != 200 || etag == "" || lastMod == "" {
		t.Fatalf("GET /static/plain.txt: %d %v; want 200 with ETag and Last-Modified", plain.status, plain.header)
	}
	cssETag := rawGet(t, addr, "GET", "/static/app.css").header.Get("ETag")
	gzETag := rawGet(t, addr, "GET", "/static/app.css", "Accept-Encoding: gzip").header.Get("ETag")
	if cssETag == gzETag || gzETag == "" {
		t.Errorf("ETag of app.css %q and of its gzip variant %q: want two different tags", cssETag, gzETag)
	}

	for _, tc := range []struct {
		name, method, target string
		hdr                  []string
		status               int
		body                 string            // "-": not checked
		want                 map[string]string // header values; "" means absent
	}{
		{"a file", "GET", "/static/plain.txt", nil, 200, "plain file\n",
			map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Encoding": "", "Vary": "", "Cache-Control": "public, max-age=3600"}},
		{"HEAD", "HEAD", "/static/plain.txt", nil, 200, "", map[string]string{"Content-Length": "11"}},
		{"If-None-Match", "GET", "/static/plain.txt", []string{"If-None-Match: " + etag}, 304, "", map[string]string{"ETag": etag}},
		{"If-None-Match, another tag", "GET", "/static/plain.txt", []string{`If-None-Match: "other"`}, 200, "plain file\n", nil},
		{"If-Modified-Since", "GET", "/static/plain.txt", []string{"If-Modified-Since: " + lastMod}, 304, "", nil},
		{"If-Modified-Since, long ago", "GET", "/static/plain.txt", []string{"If-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT"}, 200, "plain file\n", nil},
		{"Range", "GET", "/static/plain.txt", []string{"Range: bytes=0-4"}, 206, "plain", map[string]string{"Content-Range": "bytes 0-4/11"}},
		{"Range past the end", "GET", "/static/plain.txt", []string{"Range: bytes=100-"}, 416, "-", nil},
		{"If-Range with the tag", "GET", "/static/plain.txt", []string{"Range: bytes=6-", "If-Range: " + etag}, 206, "file\n", nil},
		{"If-Range with another tag", "GET", "/static/plain.txt", []string{"Range: bytes=6-", `If-Range: "other"`}, 200, "plain file\n", nil},

		{"no Accept-Encoding", "GET", "/static/app.css", nil, 200, css,
			map[string]string{"Content-Type": "text/css; charset=utf-8", "Content-Encoding": "", "Vary": "Accept-Encoding"}},
		{"gzip", "GET", "/static/app.css", []string{"Accept-Encoding: gzip"}, 200, gzipped(t, css),
			map[string]string{"Content-Type": "text/css; charset=utf-8", "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}},
		{"br before gzip", "GET", "/static/app.css", []string{"Accept-Encoding: gzip, deflate, br"}, 200, "pretend brotli bytes",
			map[string]string{"Content-Type": "text/css; charset=utf-8", "Content-Encoding": "br", "Vary": "Accept-Encoding"}},
		{"gzip by q-value", "GET", "/static/app.css", []string{"Accept-Encoding: br;q=0.5, gzip;q=0.9"}, 200, gzipped(t, css),
			map[string]string{"Content-Encoding": "gzip"}},
		{"both refused", "GET", "/static/app.css", []string{"Accept-Encoding: br;q=0, gzip;q=0, identity"}, 200, css,
			map[string]string{"Content-Encoding": "", "Vary": "Accept-Encoding"}},
		{"*", "GET", "/static/app.css", []string{"Accept-Encoding: *"}, 200, "pretend brotli bytes", map[string]string{"Content-Encoding": "br"}},
		{"* but not br", "GET", "/static/app.css", []string{"Accept-Encoding: *, br;q=0"}, 200, gzipped(t, css), map[string]string{"Content-Encoding": "gzip"}},
		{"br without a .br", "GET", "/static/only-gz.js", []string{"Accept-Encoding: br"}, 200, "var a = 1;\n",
			map[string]string{"Content-Encoding": "", "Vary": "Accept-Encoding"}},
		{"gzip HEAD", "HEAD", "/static/only-gz.js", []string{"Accept-Encoding: gzip"}, 200, "",
			map[string]string{"Content-Encoding": "gzip", "Content-Length": fmt.Sprint(len(gzipped(t, "var a = 1;\n")))}},
		{"gzip Range", "GET", "/static/app.css", []string{"Accept-Encoding: gzip", "Range: bytes=0-1"}, 206, "\x1f\x8b",
			map[string]string{"Content-Encoding": "gzip"}},
		{"gzip If-None-Match", "GET", "/static/app.css", []string{"Accept-Encoding: gzip", "If-None-Match: " + gzETag}, 304, "", nil},
		{"the plain tag does not match the gzip variant", "GET", "/static/app.css", []string{"Accept-Encoding: gzip", "If-None-Match: " + cssETag}, 200, gzipped(t, css), nil},
		{"gzip, no extension: the original's sniffed type", "GET", "/static/page", []string{"Accept-Encoding: gzip"}, 200, "-",
			map[string]string{"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"}},
		{"no gzip for a text client", "GET", "/static/plain.txt", []string{"Accept-Encoding: gzip"}, 200, "plain file\n",
			map[string]string{"Content-Encoding": ""}},
		{"a .gz asked for by name", "GET", "/static/only-gz.js.gz", nil, 200, gzipped(t, "var a = 1;\n"),
			map[string]string{"Content-Encoding": ""}},

		{"a directory relative to --chdir", "GET", "/cwd/app.py", nil, 200, "-", map[string]string{"Content-Type": "text/x-python; charset=utf-8"}},
		{"the longer prefix", "GET", "/static/special/x.txt", nil, 200, "from the longer prefix\n", nil},
		{"the prefix spelled with %2F", "GET", "/static%2Fplain.txt", nil, 200, "plain file\n", nil},
		{"a symlink inside", "GET", "/static/link-in.txt", nil, 200, "plain file\n", nil},
		{"a symlink up, staying inside", "GET", "/static/sub/up.txt", nil, 200, "plain file\n", nil},
		{"a symlink out and back in", "GET", "/static/dir-out/static/plain.txt", nil, 200, "plain file\n", nil},
		{"gzip Range past the end", "GET", "/static/app.css", []string{"Accept-Encoding: gzip", "Range: bytes=100000-"}, 416, "-",
			map[string]string{"Content-Encoding": ""}},
		{"gzip 304 keeps Vary", "GET", "/static/app.css", []string{"Accept-Encoding: gzip", "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT"}, 304, "",
			map[string]string{"Vary": "Accept-Encoding"}},
		{"a name with a backslash, by name", "GET", "/static/sub/..%5Cplain.txt", nil, 404, "-", nil},

		{"POST", "POST", "/static/plain.txt", nil, 405, "-", map[string]string{"Allow": "GET, HEAD"}},
		{"PUT on a missing file", "PUT", "/static/nothing", nil, 405, "-", map[string]string{"Allow": "GET, HEAD"}},
		{"OPTIONS", "OPTIONS", "/static/plain.txt", nil, 405, "-", nil},
		{"a missing file", "GET", "/static/nothing.css", nil, 404, "-", nil},
		{"a missing file, with gzip", "GET", "/static/nothing.css", []string{"Accept-Encoding: gzip"}, 404, "-", nil},
		{"the prefix itself", "GET", "/static/", nil, 404, "-", nil},
		{"the prefix without its slash", "GET", "/static", nil, 200, "cli ok\n", nil}, // not under /static/: the app's
		{"a directory", "GET", "/static/sub", nil, 404, "-", nil},
		{"a directory with a slash", "GET", "/static/sub/", nil, 404, "-", nil},
		{"a trailing slash on a file", "GET", "/static/plain.txt/", nil, 404, "-", nil},
		{"an empty segment", "GET", "/static//plain.txt", nil, 404, "-", nil},
		{"a dot segment", "GET", "/static/./plain.txt", nil, 404, "-", nil},
		{"a query string is ignored", "GET", "/static/plain.txt?v=3", nil, 200, "plain file\n", nil},
		{"beside the prefix: the app", "GET", "/staticx/plain.txt", nil, 200, "cli ok\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rawGet(t, addr, tc.method, tc.target, tc.hdr...)
			if got.status != tc.status {
				t.Errorf("%s %s %q: status %d, want %d (body %q)", tc.method, tc.target, tc.hdr, got.status, tc.status, got.body)
			}
			if tc.body != "-" && got.body != tc.body {
				t.Errorf("%s %s %q: body %q, want %q", tc.method, tc.target, tc.hdr, got.body, tc.body)
			}
			for k, v := range tc.want {
				if g := strings.Join(got.header.Values(k), ", "); g != v {
					t.Errorf("%s %s %q: %s %q, want %q", tc.method, tc.target, tc.hdr, k, g, v)
				}
			}
		})
	}

	// Nothing outside the directory, however the path is spelled.
	for _, target := range []string{
		"/static/../secret.txt",
		"/static/..%2fsecret.txt",
		"/static/..%2Fsecret.txt",
		"/static/%2e%2e/secret.txt",
		"/static/%2E%2E%2Fsecret.txt",
		"/static/.%2e/secret.txt",
		"/static/sub/../../secret.txt",
		"/static/sub/..%2f..%2fsecret.txt",
		"/static/sub/%2e%2e%2f%2e%2e%2fsecret.txt",
		"/static/..%5csecret.txt",
		"/static/..%5Csecret.txt",
		"/static/sub%5c..%5c..%5csecret.txt",
		"/static/..\\secret.txt",
		"/static/%2fetc%2fpasswd",
		"/static//etc/passwd",
		"/static/%00../secret.txt",
		"/static/plain.txt%00.css",
		"/static/link-out.txt",
		"/static/abs-out.txt",
		"/static/dir-out/secret.txt",
		"/static/dir-out",
		"/static/loop.txt",
		"/static/dangling.txt",
		"/static/special/../../secret.txt",
		"/static/special/..%2f..%2fsecret.txt",
	} {
		t.Run("outside "+target, func(t *testing.T) {
			for _, hdr := range [][]string{nil, {"Accept-Encoding: gzip, br"}} {
				got := rawGet(t, addr, "GET", target, hdr...)
				if got.status != 404 && got.status != 400 || strings.Contains(got.body, "SECRET") || strings.Contains(got.body, "root:") {
					t.Errorf("GET %s %q: %d %q; want 404 (or 400 from net/http) and nothing from outside the directory", target, hdr, got.status, got.body)
				}
			}
		})
	}
	// A precompressed sibling that leads outside is not sent: the file is.
	for _, ae := range []string{"gzip", "gzip, br", "*"} {
		got := rawGet(t, addr, "GET", "/static/leak.js", "Accept-Encoding: "+ae)
		if got.status != 200 || got.body != "var leak = false;\n" || got.header.Get("Content-Encoding") != "" {
			t.Errorf("GET /static/leak.js, Accept-Encoding %s: %d %v %q; want the file itself", ae, got.status, got.header, got.body)
		}
	}

	// Of all the requests above only /static and /staticx/... reached the
	// app (and the /calls that counted them).
	var n, m int
	fmt.Sscan(before, &n)
	fmt.Sscan(appCalls(t, c, base), &m)
	if m != n+3 {
		t.Errorf("the app was called %d times for the --static requests, want 2 (/static and /staticx/plain.txt)", m-n-1)
	}
}

// TestCLIStaticFlags: bad --static values stop the command with a message.
func TestCLIStaticFlags(t *testing.T) {
	root, static := staticTree(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--static", "static=" + static}, "want URL_PREFIX=DIR"},
		{[]string{"--static", "/static"}, "want URL_PREFIX=DIR"},
		{[]string{"--static", "/static="}, "want URL_PREFIX=DIR"},
		{[]string{"--static", "/static=" + filepath.Join(root, "nowhere")}, "no such file or directory"},
		{[]string{"--static", "/static=" + filepath.Join(static, "plain.txt")}, "is not a directory"},
		{[]string{"--static", "/a/../b=" + static}, "empty, . or .. segment"},
		{[]string{"--static", "/s=" + static, "--static", "/s/=" + static}, "given twice"},
		{[]string{"--static", "/=" + static}, "would hide the whole app"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"--bind", freePort(t), "--chdir", appDir}, tc.args...)
			p := startGowsgi(t, nil, append(args, "app:app")...)
			if code := p.wait(t, 60*time.Second); code == 0 {
				t.Fatalf("exit code 0")
			}
			if out := p.stderr.String(); !strings.Contains(out, tc.want) {
				t.Errorf("output does not say %q:\n%s", tc.want, out)
			}
		})
	}
}

func TestPickEncoding(t *testing.T) {
	both := []variant{{coding: "br"}, {coding: "gzip"}}
	for _, tc := range []struct {
		ae   []string
		vs   []variant
		want string
	}{
		{nil, both, ""},
		{[]string{""}, both, ""},
		{[]string{"gzip"}, both, "gzip"},
		{[]string{"GZIP"}, both, "gzip"},
		{[]string{"x-gzip"}, both, "gzip"},
		{[]string{"gzip", "br"}, both, "br"},
		{[]string{"gzip, br"}, both, "br"},
		{[]string{"gzip;q=1, br;q=0.8"}, both, "gzip"},
		{[]string{"gzip ; q=0.2 , br ; q=0.1"}, both, "gzip"},
		{[]string{"gzip;q=0"}, both, ""},
		{[]string{"gzip;q=bad"}, both, ""},
		{[]string{"gzip;q=2"}, both, ""},
		{[]string{"br"}, []variant{{coding: "gzip"}}, ""},
		{[]string{"*"}, both, "br"},
		{[]string{"*;q=0"}, both, ""},
		{[]string{"*;q=0, gzip"}, both, "gzip"},
		{[]string{"identity"}, both, ""},
		{[]string{"deflate, compress"}, both, ""},
		{[]string{"gzip"}, nil, ""},
	} {
		got := ""
		if v := pickEncoding(tc.ae, tc.vs); v != nil {
			got = v.coding
		}
		if got != tc.want {
			t.Errorf("Accept-Encoding %q with %v: %q, want %q", tc.ae, tc.vs, got, tc.want)
		}
	}
}
