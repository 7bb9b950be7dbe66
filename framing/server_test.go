package framing_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/wsgi/framing"
)

// TestGuardServer serves a real net/http server through Guard on a TCP
// port: requests with ambiguous framing get 400 and the connection ends
// before what their body hides is served; well-framed ones are served
// as without the guard.
func TestGuardServer(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+string(b))
		mu.Unlock()
		io.WriteString(w, "ok")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(framing.Guard(ln))
	t.Cleanup(func() { srv.Close() })

	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"
	for _, tc := range []struct {
		name, req string
		status    string // of the last response
		served    []string
	}{
		{"CL and TE", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
			"400", nil},
		{"TE on HTTP/1.0", "POST /a HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
			"400", nil},
		{"obs-fold", "GET /a HTTP/1.1\r\nHost: h\r\nX: 1\r\n 2\r\n\r\n" + smuggled, "400", nil},
		{"good, then CL and TE", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" +
			"POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled,
			"400", []string{"POST /a abc"}},
		{"well framed", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
			"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nde" +
			"GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
			"200", []string{"POST /a abc", "POST /b de", "GET /c "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, tc.req)
			c.(*net.TCPConn).CloseWrite()
			out, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			last := strings.LastIndex(string(out), "HTTP/1.1 ")
			if last < 0 || !strings.HasPrefix(string(out[last+len("HTTP/1.1 "):]), tc.status) {
				t.Errorf("answers %q; want the last to be %s", out, tc.status)
			}
			mu.Lock()
			got := strings.Join(seen, "|")
			mu.Unlock()
			if want := strings.Join(tc.served, "|"); got != want {
				t.Errorf("served %q, want %q", got, want)
			}
		})
	}
}
