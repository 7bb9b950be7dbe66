package wsgi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

// send writes req on a new connection to the server at url and returns
// the response's status code, 0 if none came.
func send(t *testing.T, url, req string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	go io.WriteString(conn, req) // the answer may come before all is read
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// calls is how many times rawapp's /count ran under id.
func calls(t *testing.T, url, id string) int {
	t.Helper()
	_, body := get(t, url+"/closes?id="+id)
	var v struct{ Closes int }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("/closes: %q", body)
	}
	return v.Closes
}

// TestRequestLimits: a request past gunicorn's default head limits, or
// past WithMaxRequestBody, is answered before the app runs.
func TestRequestLimits(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithMaxRequestBody(1000))
	head := func(id, target string, hdrs string) string {
		return "GET /count?id=" + id + target + " HTTP/1.1\r\nHost: x\r\n" + hdrs + "\r\n"
	}
	post := func(id string, hdrs, body string) string {
		return "POST /count?id=" + id + " HTTP/1.1\r\nHost: x\r\n" + hdrs + "\r\n" + body
	}
	fields := func(n, size int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "X-H%d: %s\r\n", i, strings.Repeat("v", size))
		}
		return b.String()
	}
	chunk := func(n int) string { return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", n, strings.Repeat("b", n)) }
	// The request line is "GET /count?id=ID&p=... HTTP/1.1".
	pad := func(id string, line int) string {
		return "&p=" + strings.Repeat("a", line-len("GET /count?id="+id+"&p= HTTP/1.1"))
	}
	for _, tc := range []struct {
		id     string
		req    func(id string) string
		status int
		runs   int
	}{
		{"line4094", func(id string) string { return head(id, pad(id, 4094), "") }, 200, 1},
		{"line4095", func(id string) string { return head(id, pad(id, 4095), "") }, 414, 0},
		{"fields100", func(id string) string { return head(id, "", fields(99, 4)) }, 200, 1},
		{"fields101", func(id string) string { return head(id, "", fields(100, 4)) }, 431, 0},
		{"fields10000", func(id string) string { return head(id, "", fields(10000, 4)) }, 431, 0},
		{"field8190", func(id string) string { return head(id, "", "X-Big: "+strings.Repeat("v", 8190-7)+"\r\n") }, 200, 1},
		{"field8191", func(id string) string { return head(id, "", "X-Big: "+strings.Repeat("v", 8191-7)+"\r\n") }, 431, 0},
		{"body1000", func(id string) string { return post(id, "Content-Length: 1000\r\n", strings.Repeat("b", 1000)) }, 200, 1},
		{"body1001", func(id string) string { return post(id, "Content-Length: 1001\r\n", strings.Repeat("b", 1001)) }, 413, 0},
		{"chunked1000", func(id string) string { return post(id, "Transfer-Encoding: chunked\r\n", chunk(1000)) }, 200, 1},
		{"chunked5000", func(id string) string { return post(id, "Transfer-Encoding: chunked\r\n", chunk(5000)) }, 413, 0},
		{"preface", func(string) string { return "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" }, 505, 0},
	} {
		t.Run(tc.id, func(t *testing.T) {
			if got := send(t, srv.URL, tc.req(tc.id)); got != tc.status {
				t.Errorf("status %d, want %d", got, tc.status)
			}
			// chunked5000 reaches the app, whose read fails before
			// /count counts it.
			if n := calls(t, srv.URL, tc.id); n != tc.runs {
				t.Errorf("/count ran %d times, want %d", n, tc.runs)
			}
		})
	}
}

// TestMaxRequestBodyChunked: a chunked body past WithMaxRequestBody makes
// wsgi.input raise an OSError that says why, which an app may catch.
func TestMaxRequestBodyChunked(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithMaxRequestBody(1000))
	for _, tc := range []struct {
		size int
		want string
	}{
		{1000, "read 1000\n"},
		{1001, "OSError: wsgi.input: the request body is larger than the server allows\n"},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/readerr", io.MultiReader(strings.NewReader(strings.Repeat("b", tc.size))))
		req.ContentLength = -1 // chunked
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != tc.want {
			t.Errorf("chunked body of %d bytes: %q, want %q", tc.size, body, tc.want)
		}
	}
}

// TestNoRequestLimits: RequestLimits{} lets every head through.
func TestNoRequestLimits(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithRequestLimits(wsgi.RequestLimits{}))
	req := "GET /count?id=nolimits&p=" + strings.Repeat("a", 50<<10) + " HTTP/1.1\r\nHost: x\r\nX-Big: " +
		strings.Repeat("v", 50<<10) + "\r\n" + strings.Repeat("X-Many: 1\r\n", 500) + "\r\n"
	if got := send(t, srv.URL, req); got != 200 {
		t.Errorf("status %d without limits, want 200", got)
	}
}
