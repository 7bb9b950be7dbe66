package wsgi_test

// Real frameworks mounted under a prefix on a Go mux: a Django project
// (testdata/djangoproj), without FORCE_SCRIPT_NAME, so that reversing must
// use SCRIPT_NAME, and a Flask app (testdata/flaskapp.py).

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

func TestDjango(t *testing.T) {
	app, _ := loadApp(t, "djangoproj.wsgi:application", wsgi.WithThreads(4))
	mux := http.NewServeMux()
	mux.Handle("/dj/", app)
	srv := serve(t, mux)
	base := srv.URL
	_, port, _ := net.SplitHostPort(hostOf(srv))
	c := &http.Client{Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(t *testing.T, method, path string, body string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		return do(t, c, req)
	}

	t.Run("views", func(t *testing.T) {
		for path, want := range map[string]string{"/dj/hello/": "hello from django", "/dj/article/7/": "article 7"} {
			resp, body := send(t, "GET", path, "", nil)
			if resp.StatusCode != 200 || string(body) != want {
				t.Errorf("GET %s: %s %q, want %q", path, resp.Status, body, want)
			}
		}
		resp, _ := send(t, "GET", "/dj/no/such/", "", nil)
		if resp.StatusCode != 404 {
			t.Errorf("GET /dj/no/such/: %s, want 404", resp.Status)
		}
		resp, _ = send(t, "GET", "/dj/crash/", "", nil)
		if resp.StatusCode != 500 {
			t.Errorf("GET /dj/crash/: %s, want Django's 500", resp.Status)
		}
	})

	t.Run("reverse under SCRIPT_NAME", func(t *testing.T) {
		resp, body := send(t, "GET", "/dj/reverse/", "", nil)
		var got map[string]string
		decodeJSON(t, resp, body, &got)
		want := map[string]string{
			"hello":       "/dj/hello/",
			"article":     "/dj/article/42/",
			"absolute":    base + "/dj/hello/",
			"script_name": "/dj",
			"path":        "/dj/reverse/",
			"path_info":   "/reverse/",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		// APPEND_SLASH redirects within the mount.
		resp, _ = send(t, "GET", "/dj/hello", "", nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != 301 || loc != "/dj/hello/" {
			t.Errorf("GET /dj/hello: %s Location %q, want 301 to /dj/hello/", resp.Status, loc)
		}
	})

	t.Run("POST", func(t *testing.T) {
		form := url.Values{"a": {"1", "2"}, "name": {"Zoë"}}.Encode()
		resp, body := send(t, "POST", "/dj/post/", form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		var got struct {
			Method      string              `json:"method"`
			Post        map[string][]string `json:"post"`
			BodyLen     int                 `json:"body_len"`
			ContentType string              `json:"content_type"`
		}
		decodeJSON(t, resp, body, &got)
		if got.Method != "POST" || strings.Join(got.Post["a"], ",") != "1,2" || strings.Join(got.Post["name"], "") != "Zoë" ||
			got.BodyLen != len(form) || got.ContentType != "application/x-www-form-urlencoded" {
			t.Errorf("got %s", body)
		}
		// Without csrf_exempt, CSRF protection answers 403.
		resp, _ = send(t, "POST", "/dj/protected/", form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if resp.StatusCode != 403 {
			t.Errorf("POST without a CSRF token: %s, want 403", resp.Status)
		}
	})

	t.Run("request.META", func(t *testing.T) {
		resp, body := send(t, "GET", "/dj/meta/?a=1&a=2&b=%C3%A9", "", map[string]string{"X-Custom": "custom value"})
		var got struct {
			Meta   map[string]any      `json:"meta"`
			Get    map[string][]string `json:"get"`
			Host   string              `json:"host"`
			Secure bool                `json:"secure"`
		}
		decodeJSON(t, resp, body, &got)
		want := map[string]any{
			"REQUEST_METHOD":   "GET",
			"QUERY_STRING":     "a=1&a=2&b=%C3%A9",
			"REMOTE_ADDR":      "127.0.0.1",
			"SERVER_NAME":      "127.0.0.1",
			"SERVER_PORT":      port,
			"SERVER_PROTOCOL":  "HTTP/1.1",
			"HTTP_X_CUSTOM":    "custom value",
			"HTTP_HOST":        hostOf(srv),
			"SCRIPT_NAME":      "/dj",
			"PATH_INFO":        "/meta/",
			"wsgi.url_scheme":  "http",
			"wsgi.multithread": true,
		}
		for k, v := range want {
			if got.Meta[k] != v {
				t.Errorf("META[%s] = %#v, want %#v", k, got.Meta[k], v)
			}
		}
		if strings.Join(got.Get["a"], ",") != "1,2" || strings.Join(got.Get["b"], "") != "é" {
			t.Errorf("request.GET = %v", got.Get)
		}
		if got.Host != hostOf(srv) || got.Secure {
			t.Errorf("get_host() = %q, is_secure() = %v", got.Host, got.Secure)
		}
	})
}

func flaskServer(t *testing.T) (*http.Client, string, *recorder) {
	t.Helper()
	app, rec := loadApp(t, "flaskapp:app")
	mux := http.NewServeMux()
	mux.Handle("/flask/", app)
	srv := serve(t, mux)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c, srv.URL, rec
}

func TestFlask(t *testing.T) {
	c, base, rec := flaskServer(t)
	getText := func(t *testing.T, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		resp, body := do(t, c, req)
		return resp, string(body)
	}

	t.Run("routes", func(t *testing.T) {
		for path, want := range map[string]string{
			"/flask/":                "flask index",
			"/flask/hello/bob":       "hello bob",
			"/flask/hello/caf%C3%A9": "hello café", // UTF-8 in the path, through latin-1 PATH_INFO
		} {
			if resp, body := getText(t, path); resp.StatusCode != 200 || body != want {
				t.Errorf("GET %s: %s %q, want %q", path, resp.Status, body, want)
			}
		}
	})

	t.Run("url_for under the mount", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/flask/urls", nil)
		resp, body := do(t, c, req)
		var got map[string]string
		decodeJSON(t, resp, body, &got)
		want := map[string]string{
			"index":       "/flask/",
			"hello":       "/flask/hello/x%20y",
			"external":    base + "/flask/hello/x",
			"script_root": "/flask",
			"path":        "/urls",
			"url":         base + "/flask/urls",
			"scheme":      "http",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
	})

	t.Run("redirect", func(t *testing.T) {
		resp, _ := getText(t, "/flask/redirect")
		if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || (loc != "/flask/" && loc != base+"/flask/") {
			t.Errorf("%s Location %q, want 302 to /flask/", resp.Status, loc)
		}
	})

	t.Run("JSON", func(t *testing.T) {
		in := `{"items": [1, 2, 3], "name": "caf\u00e9"}`
		req, _ := http.NewRequest("POST", base+"/flask/json", strings.NewReader(in))
		req.Header.Set("Content-Type", "application/json")
		resp, body := do(t, c, req)
		var got struct {
			Got         map[string]any `json:"got"`
			N           int            `json:"n"`
			ContentType string         `json:"content_type"`
		}
		decodeJSON(t, resp, body, &got)
		if got.N != 3 || got.Got["name"] != "café" || got.ContentType != "application/json" {
			t.Errorf("got %s", body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	})

	t.Run("form POST", func(t *testing.T) {
		form := url.Values{"name": {"Zoë & co"}, "multi": {"a", "b"}}
		req, _ := http.NewRequest("POST", base+"/flask/form?q=1&q=2", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, body := do(t, c, req)
		var got struct {
			Name  string   `json:"name"`
			Multi []string `json:"multi"`
			Args  []string `json:"args"`
		}
		decodeJSON(t, resp, body, &got)
		if got.Name != "Zoë & co" || strings.Join(got.Multi, ",") != "a,b" || strings.Join(got.Args, ",") != "1,2" {
			t.Errorf("got %s", body)
		}
	})

	t.Run("upload", func(t *testing.T) {
		file := make([]byte, 300<<10+5) // > 64 KiB: the streamed path
		rand.Read(file)
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
				var buf bytes.Buffer
				mw := multipart.NewWriter(&buf)
				mw.WriteField("field", "value 1")
				fw, _ := mw.CreateFormFile("file", "data.bin")
				fw.Write(file)
				mw.Close()
				var body io.Reader = bytes.NewReader(buf.Bytes())
				if chunked {
					body = struct{ io.Reader }{body}
				}
				req, _ := http.NewRequest("POST", base+"/flask/upload", body)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				resp, b := do(t, c, req)
				var got struct {
					Filename string `json:"filename"`
					Size     int    `json:"size"`
					SHA256   string `json:"sha256"`
					Field    string `json:"field"`
				}
				decodeJSON(t, resp, b, &got)
				if got.Filename != "data.bin" || got.Size != len(file) || got.SHA256 != sha(string(file)) || got.Field != "value 1" {
					t.Errorf("request.files saw %s; sent data.bin, %d bytes, sha256 %s", b, len(file), sha(string(file)))
				}
			})
		}
	})

	t.Run("streamed response", func(t *testing.T) {
		start := time.Now()
		req, _ := http.NewRequest("GET", base+"/flask/stream?delay=0.4&tag=kept", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		var at []time.Duration
		var lines []string
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				lines = append(lines, line)
				at = append(at, time.Since(start))
			}
			if err != nil {
				break
			}
		}
		if strings.Join(lines, "") != "part1\npart2 kept\npart3\n" {
			t.Fatalf("body %q", lines)
		}
		for i := 1; i < len(at); i++ {
			if at[i]-at[i-1] < 200*time.Millisecond {
				t.Errorf("part %d arrived %v after part %d: not streamed (arrivals %v)", i+1, at[i]-at[i-1], i, at)
			}
		}
	})

	t.Run("error handlers", func(t *testing.T) {
		resp, body := getText(t, "/flask/teapot")
		if resp.StatusCode != 418 || !strings.Contains(body, `"short and stout"`) {
			t.Errorf("/teapot: %s %s", resp.Status, body)
		}
		resp, body = getText(t, "/flask/no/such/page")
		var nf map[string]string
		json.Unmarshal([]byte(body), &nf)
		if resp.StatusCode != 404 || nf["error"] != "not found" || nf["path"] != "/no/such/page" {
			t.Errorf("404 handler: %s %s", resp.Status, body)
		}
		// No handler: Flask's own 500, and its log (to wsgi.errors) has the traceback.
		resp, body = getText(t, "/flask/crash")
		if resp.StatusCode != 500 || strings.Contains(body, "flask view crashed") {
			t.Errorf("/crash: %s %q", resp.Status, body)
		}
		rec.waitLog(t, "ValueError: flask view crashed")
	})

	t.Run("session cookie", func(t *testing.T) {
		resp, _ := getText(t, "/flask/session/set/s3cr3t")
		if resp.StatusCode != 200 || len(resp.Cookies()) == 0 {
			t.Fatalf("%s, cookies %v: want a session cookie", resp.Status, resp.Cookies())
		}
		req, _ := http.NewRequest("GET", base+"/flask/session/get", nil)
		resp, body := do(t, c, req)
		var got struct{ Value *string }
		decodeJSON(t, resp, body, &got)
		if got.Value == nil || *got.Value != "s3cr3t" {
			t.Errorf("the session gave back %s, want s3cr3t", body)
		}
	})
}
