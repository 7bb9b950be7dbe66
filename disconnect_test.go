package wsgi_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

// TestInterruptOnDisconnect: with WithInterruptOnDisconnect, a request
// computing for a client that has gone away gets ClientDisconnected;
// without it, it runs to its end.
func TestInterruptOnDisconnect(t *testing.T) {
	for _, tc := range []struct {
		on      bool
		seconds string
		want    string
	}{
		{true, "20", "ClientDisconnected"},
		{false, "1", "finished"},
	} {
		srv, _ := rawServer(t, wsgi.WithInterruptOnDisconnect(tc.on), wsgi.WithThreads(4))
		id := "gone" + tc.seconds
		outcome := func() string {
			_, body := get(t, srv.URL+"/outcome?id="+id)
			return string(body)
		}
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET /spin_gone?id="+id+"&s="+tc.seconds+" HTTP/1.1\r\nHost: x\r\n\r\n")
		deadline := time.Now().Add(20 * time.Second)
		for outcome() != "running" {
			if time.Now().After(deadline) {
				t.Fatal("the request did not start")
			}
			time.Sleep(10 * time.Millisecond)
		}
		conn.Close()
		for {
			got := outcome()
			if got != "running" {
				if got != tc.want {
					t.Errorf("WithInterruptOnDisconnect(%v): the request ended %q, want %q", tc.on, got, tc.want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("WithInterruptOnDisconnect(%v): the request still runs 20 s after its client left", tc.on)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
