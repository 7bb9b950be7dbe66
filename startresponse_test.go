package wsgi_test

// start_response over real HTTP: every invalid status and header is raised
// to the app at the call (the app can catch it), an uncaught one is a clean
// 500 with the traceback in the log only; a second call, exc_info before and
// after the header is sent, and write(), streamed, with a client leaving
// during it.

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The names are keys of BAD_STATUS and BAD_HEADERS in testdata/rawapp.py.
var badStatuses = []struct{ name, desc string }{
	{"no_reason_no_space", `"200"`},
	{"code_99", `"99 x"`},
	{"code_600", `"600 x"`},
	{"code_1xx", `"100 Continue"`},
	{"code_1xx_literal", `"1xx"`},
	{"alpha", `"abc OK"`},
	{"crlf", `"200 OK\r\nX: y"`},
	{"lf", `"200 OK\nX: y"`},
	{"nul", `"200 OK\0"`},
	{"bytes", `b"200 OK"`},
	{"non_latin1", `"200 \u20ac"`},
	{"none", `None`},
	{"int", `200`},
	{"two_spaces_code", `"20 0 OK"`},
}

var badHeaders = []struct{ name, desc string }{
	{"non_tuple_list", `[["X-A", "b"]]`},
	{"non_tuple_str", `["X-A: b"]`},
	{"tuple_of_3", `[("X-A", "b", "c")]`},
	{"bytes_name", `[(b"X-A", "b")]`},
	{"bytes_value", `[("X-A", b"b")]`},
	{"int_value", `[("X-A", 1)]`},
	{"empty_name", `[("", "b")]`},
	{"name_space", `[("X A", "b")]`},
	{"name_colon", `[("X-A:", "b")]`},
	{"name_crlf", `[("X-A\r\n", "b")]`},
	{"value_crlf", `[("X-A", "b\r\nX-Injected: 1")]`},
	{"value_lf", `[("X-A", "b\nX-Injected: 1")]`},
	{"value_nul", `[("X-A", "b\0c")]`},
	{"non_latin1_value", `[("X-A", "\u20ac")]`},
	{"non_latin1_name", `[("X-\u20ac", "b")]`},
	{"connection", `[("Connection", "close")]`},
	{"transfer_encoding", `[("Transfer-Encoding", "chunked")]`},
	{"upgrade", `[("Upgrade", "websocket")]`},
	{"keep_alive", `[("Keep-Alive", "timeout=5")]`},
	{"two_content_length", `[("Content-Length", "2"), ("content-length", "2")]`},
	{"content_length_abc", `[("Content-Length", "abc")]`},
	{"content_length_negative", `[("Content-Length", "-1")]`},
	{"content_length_plus", `[("Content-Length", "+5")]`},
	{"content_length_space", `[("Content-Length", " 5")]`},
	{"content_length_empty", `[("Content-Length", "")]`},
	{"value_del", `[("X-A", "b\x7fc")]`},
	{"value_ctl", `[("X-A", "b\x01c")]`},
	{"name_paren", `[("X(A)", "b")]`},
	{"headers_tuple_not_list", `(("X-A", "b"),)`},
	{"headers_none", `None`},
}

var caughtRE = regexp.MustCompile(`^caught (TypeError|ValueError|AssertionError): .+`)

func TestInvalidStartResponse(t *testing.T) {
	srv, rec := rawServer(t)
	type tcase struct{ route, name, desc string }
	var cases []tcase
	for _, c := range badStatuses {
		cases = append(cases, tcase{"/bad_status", c.name, "status " + c.desc})
	}
	for _, c := range badHeaders {
		cases = append(cases, tcase{"/bad_header", c.name, "headers " + c.desc})
	}
	for _, tc := range cases {
		t.Run(tc.route+"/"+tc.name, func(t *testing.T) {
			// The app catches the error and answers with a good response:
			// the error was raised to it, at the call.
			resp, body := get(t, srv.URL+tc.route+"?catch=1&case="+tc.name)
			if resp.StatusCode == 299 {
				t.Fatalf("start_response accepted %s; want an exception raised to the app", tc.desc)
			}
			if resp.StatusCode != 200 || !caughtRE.Match(body) {
				t.Fatalf("start_response(%s): want the app to catch a TypeError or ValueError and answer 200; got %s %q",
					tc.desc, resp.Status, body)
			}
			for k := range resp.Header {
				if strings.EqualFold(k, "X-Injected") || strings.EqualFold(k, "X") {
					t.Errorf("header %s reached the client", k)
				}
			}

			// Not caught: a clean 500, the traceback in the log only.
			resp, body = get(t, srv.URL+tc.route+"?case="+tc.name)
			want500(t, resp, body)
			if resp.Header.Get("X-A") != "" || resp.Header.Get("X-Injected") != "" {
				t.Errorf("the 500 carries the app's bad header: %v", resp.Header)
			}
			rec.waitLog(t, "Traceback (most recent call last)", "case="+tc.name, "start_response")
		})
	}
}

// TestInvalidStatusOnTheWire checks with a raw connection that nothing of
// a bad status line or header reaches the client.
func TestInvalidStatusOnTheWire(t *testing.T) {
	srv, _ := rawServer(t)
	for _, path := range []string{"/bad_status?case=crlf", "/bad_status?case=lf", "/bad_header?case=value_crlf",
		"/bad_header?case=value_lf", "/bad_header?case=name_crlf", "/bad_status?case=code_1xx"} {
		raw := rawExchange(t, hostOf(srv), "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		if !strings.HasPrefix(raw, "HTTP/1.1 500 ") {
			t.Errorf("%s: response starts %q, want a 500", path, raw[:min(len(raw), 40)])
		}
		if strings.Contains(raw, "X-Injected") || strings.Contains(raw, "\r\nX: y") || strings.Contains(raw, "100 Continue") {
			t.Errorf("%s: the bad value reached the wire:\n%s", path, raw)
		}
	}
}

func TestSecondStartResponseRaises(t *testing.T) {
	srv, _ := rawServer(t)
	resp, body := get(t, srv.URL+"/second_call")
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "second call raised ") {
		t.Errorf("got %s %q; want the first status (200) and the second call raising to the app", resp.Status, body)
	}
}

func TestExcInfoBeforeSend(t *testing.T) {
	srv, _ := validatedServer(t)
	resp, body := get(t, srv.URL+"/exc_before")
	if resp.StatusCode != 500 {
		t.Errorf("status %s, want the app's replacement 500", resp.Status)
	}
	if resp.Header.Get("X-Replaced") != "yes" || resp.Header.Get("X-First") != "" {
		t.Errorf("headers %v: want the replacement headers only (X-Replaced, no X-First)", resp.Header)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html" {
		t.Errorf("Content-Type %q, want the app's text/html", ct)
	}
	if string(body) != "<h1>app's own error page</h1>" {
		t.Errorf("body %q, want the app's own error page", body)
	}
}

func TestExcInfoAfterSend(t *testing.T) {
	srv, rec := validatedServer(t)
	id := newCloseID(t)
	start := time.Now()
	resp, err := client.Get(srv.URL + "/exc_after?id=" + id)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %s, want the 200 already sent", resp.Status)
	}
	if err == nil {
		t.Errorf("the client read a complete response %q; want the connection aborted after the first block", body)
	}
	if string(body) != "first block\n" {
		t.Errorf("body %q, want %q before the cut", body, "first block\n")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the aborted response took %v: the client hung", d)
	}
	r := waitCloses(t, srv.URL, id)
	if r.Reraised == nil || *r.Reraised != 1 {
		t.Errorf("start_response(exc_info) after sending did not re-raise the app's exception (reraised=%v)", r.Reraised)
	}
	if r.Closes != 1 {
		t.Errorf("close() called %d times, want 1", r.Closes)
	}
	rec.waitLog(t, "KeyError", "boom after send")
}

func TestWrite(t *testing.T) {
	srv, _ := validatedServer(t)
	for path, want := range map[string]string{"/write": "w1 w2 i1 i2", "/write_only": "only write", "/write_lazy": "w1 i1 w2 i2"} {
		resp, body := get(t, srv.URL+path)
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("%s: got %s %q, want 200 %q", path, resp.Status, body, want)
		}
	}
	// HEAD with write(): the header, no body.
	raw := rawExchange(t, hostOf(srv), "HEAD /write HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	head, body := splitRaw(t, raw)
	if !strings.HasPrefix(head, "HTTP/1.1 200 ") || body != "" {
		t.Errorf("HEAD /write: header\n%s\nbody %q", head, body)
	}
}

func TestExcInfoAfterWrite(t *testing.T) {
	srv, rec := rawServer(t)
	id := newCloseID(t)
	resp, err := client.Get(srv.URL + "/exc_after_write?id=" + id)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "written\n" {
		t.Errorf("got %s %q, want the 200 and the bytes written before the error", resp.Status, body)
	}
	if err == nil {
		t.Error("the client read a complete response; want the connection aborted")
	}
	deadline := time.Now().Add(5 * time.Second)
	for closes(t, srv.URL, id).Reraised == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if closes(t, srv.URL, id).Reraised == nil {
		t.Error("start_response(exc_info) after write() did not re-raise")
	}
	rec.waitLog(t, "LookupError: boom after write")
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
