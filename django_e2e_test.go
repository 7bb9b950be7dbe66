package wsgi_test

// A real Django project (testdata/djangoproj) mounted under a prefix on a Go
// mux, without FORCE_SCRIPT_NAME: reversing must use SCRIPT_NAME.

import (
	"net"
	"net/http"
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
