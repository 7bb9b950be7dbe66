package framing

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// chunkConn is a net.Conn whose Read returns data split in pieces of at
// most size bytes.
type chunkConn struct {
	net.Conn
	data []byte
	size int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.size, len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// through reads stream through a conn, the client's bytes arriving
// size bytes at a time and the reader asking for readSize at a time.
func through(t *testing.T, stream string, size, readSize int) string {
	t.Helper()
	c := &conn{Conn: &chunkConn{data: []byte(stream), size: size}}
	var out []byte
	p := make([]byte, readSize)
	for i := 0; ; i++ {
		n, err := c.Read(p)
		out = append(out, p[:n]...)
		if errors.Is(err, io.EOF) {
			return string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > 10*len(stream)+10 {
			t.Fatalf("no progress: got %q so far", out)
		}
	}
}

const (
	get     = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
	smuggle = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"
	bad     = "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
)

// framingCases are streams from a client and what the guard does to them;
// FuzzFraming starts from them too.
var framingCases = []struct {
	name   string
	stream string
	// poison: the text in front of which the NUL goes ("" for none).
	poison string
}{
	{"pipelined GETs", get + get + "GET /x HTTP/1.0\r\n\r\n", ""},
	{"bare LF lines", "GET / HTTP/1.1\nHost: h\n\n" + get, ""},
	{"CL body looking like a head", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n" +
		"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n" + get, ""},
	{"duplicate equal CLs", "POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length:  3 \r\n\r\nabc" + get, ""},
	{"chunked body with extensions and trailers", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n" +
		"5;a=b\r\nhello\r\n1A \r\n" + strings.Repeat("z", 26) + "\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n" + get, ""},
	{"chunked body that looks like a head", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"3b\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: x\r\n\r\n\r\n0\r\n\r\n" + get, ""},
	{"empty trailer with bare LF", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\n" + get, ""},
	{"CRLF after a POST", "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab\r\n" + get, ""},
	{"4 CRLF bytes after a POST", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n\r\n\n\r" + get, ""},
	{"CRLF after a chunked POST", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\r\n" + get, ""},
	{"HTTP/1.0 with CL", "POST / HTTP/1.0\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nab" + get, ""},

	{"CL then TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle,
		"Transfer-Encoding: chunked"},
	{"TE then CL", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggle,
		"Transfer-Encoding: chunked"},
	{"TE on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "Transfer-Encoding"},
	{"TE in lower case with CL", "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 1\r\n\r\n0\r\n\r\n",
		"transfer-encoding"},
	{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n", " folded"},
	{"obs-fold hiding TE", "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n0\r\n\r\n", "\tchunked"},

	// Requests net/http refuses (and closes the connection): no
	// change, whatever follows.
	{"refused: two TEs", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + get, ""},
	{"refused: differing CLs", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab" + get, ""},
	{"refused: bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + get, ""},
	{"refused: a bare LF as the chunk-size line", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\n" + get, ""}, // panicked once
	{"refused: HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ""},
	{"refused: empty request line", "\r\n" + get, ""},
	{"refused: CRLF after a GET", get + "\r\n" + get, ""},
	{"refused: 6 CRLF bytes after a POST", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n\r\n\r\n\r\n" + get, ""},
}

func TestFramingConn(t *testing.T) {
	for _, tc := range framingCases {
		stream, poison := tc.stream, tc.poison
		if poison == "" && !strings.HasPrefix(tc.name, "refused:") {
			// Still in step at the end: a last bad request is caught.
			stream += bad
			poison = "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
		}
		want := stream
		if poison != "" {
			i := strings.Index(stream, poison)
			if strings.HasSuffix(poison, "\r\n\r\n0\r\n\r\n") {
				i = strings.LastIndex(stream, poison)
			}
			want = stream[:i] + "\x00" + stream[i+1:]
		}
		t.Run(tc.name, func(t *testing.T) {
			for size := 1; size <= len(stream); size++ {
				for _, readSize := range []int{1, 7, 4096} {
					if got := through(t, stream, size, readSize); got != want {
						t.Fatalf("client bytes %d at a time, read %d at a time:\ngot  %q\nwant %q", size, readSize, got, want)
					}
				}
			}
		})
	}
}

// timeoutConn returns data, then a timeout error once, then the rest.
type timeoutConn struct {
	net.Conn
	parts []string
}

func (c *timeoutConn) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	s := c.parts[0]
	c.parts = c.parts[1:]
	if s == "" {
		return 0, os.ErrDeadlineExceeded
	}
	return copy(p, s), nil
}

// TestFramingConnTimeout: net/http cuts its background read short with a
// deadline; a head held back at that moment must survive.
func TestFramingConnTimeout(t *testing.T) {
	c := &conn{Conn: &timeoutConn{parts: []string{"GET / HT", "", "TP/1.1\r\nHost: h\r\n\r\n"}}}
	p := make([]byte, 1)
	if n, err := c.Read(p); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %d, %v; want the timeout", n, err)
	}
	var out bytes.Buffer
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := c.Read(p)
		out.Write(p[:n])
		if err != nil {
			break
		}
	}
	if out.String() != get {
		t.Errorf("after the timeout: %q, want %q", out.String(), get)
	}
}

// loopConn returns the same request again and again.
type loopConn struct {
	net.Conn
	req []byte
	off int
}

func (c *loopConn) Read(p []byte) (int, error) {
	n := copy(p, c.req[c.off:])
	c.off = (c.off + n) % len(c.req)
	return n, nil
}

// BenchmarkFramingConn is the cost per request of following a keep-alive
// stream of typical GET requests.
func BenchmarkFramingConn(b *testing.B) {
	req := []byte("GET /api/v1/items?page=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
		"Accept: text/html,application/xhtml+xml\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.5\r\n" +
		"Cookie: session=0123456789abcdef\r\nConnection: keep-alive\r\n\r\n")
	for _, wrap := range []bool{false, true} {
		name := "plain"
		if wrap {
			name = "framing"
		}
		b.Run(name, func(b *testing.B) {
			var c net.Conn = &loopConn{req: req}
			if wrap {
				c = &conn{Conn: c}
			}
			p := make([]byte, 4096)
			b.SetBytes(int64(len(req)))
			for i := 0; i < b.N; i++ {
				for got := 0; got < len(req); {
					n, _ := c.Read(p[:len(req)-got])
					got += n
				}
			}
		})
	}
}
