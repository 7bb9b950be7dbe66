package framing

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/wsgi/internal/httprule"
)

// FuzzFraming serves arbitrary client bytes with a real net/http server
// through the guard and checks, for every request that reached the
// handler, that a strict RFC 9112 reader of the client's bytes sees the
// same request at the same place in the stream, with the same body, and
// does not find its framing ambiguous (Content-Length with
// Transfer-Encoding, Transfer-Encoding on HTTP/1.0, obs-fold). If net/http
// behind the guard and such a reader (a proxy in front) ever disagree on
// where a request ends, this fails: that is request smuggling. It also
// checks that the guard only ever replaces the first byte of a line with
// NUL and never panics, whatever pieces the bytes arrive in.
func FuzzFraming(f *testing.F) {
	for _, tc := range framingCases {
		for _, piece := range []uint8{0, 1, 7} {
			f.Add([]byte(tc.stream), piece)
			f.Add([]byte(tc.stream+bad), piece)
		}
	}
	f.Fuzz(func(t *testing.T, stream []byte, piece uint8) {
		size := int(piece)
		if size == 0 {
			size = len(stream) + 1
		}
		checkPassThrough(t, stream, size)

		served := serveGuarded(t, stream, size)
		want := strictRead(stream)
		for i, got := range served {
			if i >= len(want) {
				return // the strict reader stopped at a malformed or incomplete request
			}
			w := want[i]
			if w.ambiguous != "" {
				t.Fatalf("request %d reached the handler though its framing is ambiguous (%s): %+v", i, w.ambiguous, got)
			}
			if got.method != w.method || got.target != w.target {
				t.Fatalf("request %d: net/http served %s %q, the strict reader reads %s %q there", i, got.method, got.target, w.method, w.target)
			}
			if got.err == nil && got.body != w.body {
				t.Fatalf("request %d (%s %s): net/http read the body %q, the strict reader %q", i, w.method, w.target, got.body, w.body)
			}
			if got.err != nil {
				return // net/http closes the connection after it
			}
		}
	})
}

// checkPassThrough reads stream through the guard, size bytes at a time
// from the client: the bytes come out in order, each unchanged or, at the
// start of a line, replaced by NUL.
func checkPassThrough(t *testing.T, stream []byte, size int) {
	c := &conn{Conn: &chunkConn{data: stream, size: size}}
	var out []byte
	p := make([]byte, 512)
	for i := 0; ; i++ {
		n, err := c.Read(p)
		out = append(out, p[:n]...)
		if err != nil {
			break
		}
		if i > 10*len(stream)+10 {
			t.Fatalf("no progress: %q so far", out)
		}
	}
	if len(out) != len(stream) {
		t.Fatalf("%d bytes in, %d out", len(stream), len(out))
	}
	for i := range out {
		if out[i] != stream[i] && (out[i] != 0 || i > 0 && stream[i-1] != '\n') {
			t.Fatalf("byte %d changed from %q to %q, not a line start poisoned", i, stream[i], out[i])
		}
	}
}

// A servedRequest is what the handler saw.
type servedRequest struct {
	method, target, body string
	err                  error // reading the body
}

// serveGuarded serves stream, arriving size bytes at a time, with a real
// http.Server through the guard, and returns the requests its handler saw.
func serveGuarded(t *testing.T, stream []byte, size int) []servedRequest {
	var (
		mu     sync.Mutex
		served []servedRequest
	)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			mu.Lock()
			served = append(served, servedRequest{r.Method, r.RequestURI, string(b), err})
			mu.Unlock()
		}),
		DisableGeneralOptionsHandler: true, // "OPTIONS *" goes to the handler too
		ErrorLog:                     log.New(io.Discard, "", 0),
	}
	mc := &memConn{chunkConn: chunkConn{data: stream, size: size}, closed: make(chan struct{})}
	ln := &oneListener{c: GuardConn(mc), done: make(chan struct{})}
	go srv.Serve(ln)
	select {
	case <-mc.closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("the server did not finish with %q", stream)
	}
	srv.Close()
	mu.Lock()
	defer mu.Unlock()
	return served
}

// memConn is a client that sent data, size bytes at a time, then closed
// its side; what the server writes is dropped.
type memConn struct {
	chunkConn
	once   sync.Once
	closed chan struct{}
}

func (c *memConn) Write(p []byte) (int, error)         { return len(p), nil }
func (c *memConn) Close() error                        { c.once.Do(func() { close(c.closed) }); return nil }
func (c *memConn) LocalAddr() net.Addr                 { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr                { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(time.Time) error         { return nil }
func (c *memConn) SetReadDeadline(time.Time) error     { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error    { return nil }
func (c *memConn) Read(p []byte) (n int, err error)    { return c.chunkConn.Read(p) }
func (c *memConn) CloseWrite() error                   { return nil }
func (c *memConn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }

// oneListener accepts c once, then blocks until closed.
type oneListener struct {
	c    net.Conn
	mu   sync.Mutex
	done chan struct{}
	shut bool
}

func (l *oneListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.c
	l.c = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.shut {
		l.shut = true
		close(l.done)
	}
	return nil
}

func (l *oneListener) Addr() net.Addr { return &net.TCPAddr{} }

// A strictRequest is a request as a strict RFC 9112 reader sees it.
type strictRequest struct {
	method, target, body string
	ambiguous            string // why its framing is ambiguous, if it is; then the reading stops
}

var errMalformed = errors.New("malformed")

// strictRead reads the requests in stream as a strict RFC 9112 server
// would, up to the first one that is malformed or incomplete (left out)
// or whose framing is ambiguous (the last one returned). It is lenient
// only where RFC 9112 allows and net/http is too: a bare LF ends a line
// (2.2), empty lines before a request line are skipped (2.2), and equal
// repeated Content-Length fields are one (RFC 9110 8.6).
func strictRead(stream []byte) []strictRequest {
	var out []strictRequest
	r := &lines{b: stream}
	for {
		line, err := r.line()
		for err == nil && len(line) == 0 {
			line, err = r.line()
		}
		if err != nil {
			return out
		}
		req, minor, err := requestLine(line)
		if err != nil {
			return out
		}
		var cl, te []string
		for {
			line, err := r.line()
			if err != nil {
				return out
			}
			if len(line) == 0 {
				break
			}
			if line[0] == ' ' || line[0] == '\t' {
				req.ambiguous = "obs-fold or whitespace before the first field"
				return append(out, req)
			}
			name, value, err := fieldLine(line)
			if err != nil {
				return out
			}
			switch strings.ToLower(name) {
			case "content-length":
				cl = append(cl, value)
			case "transfer-encoding":
				for _, c := range strings.Split(value, ",") {
					if c = strings.Trim(c, " \t"); c != "" {
						te = append(te, strings.ToLower(c))
					}
				}
				if len(te) == 0 {
					te = append(te, "") // present, but empty: not chunked
				}
			}
		}
		switch {
		case te != nil && cl != nil:
			req.ambiguous = "Content-Length and Transfer-Encoding (RFC 9112 6.1)"
			return append(out, req)
		case te != nil && minor == 0:
			req.ambiguous = "Transfer-Encoding on HTTP/1.0 (RFC 9112 6.1)"
			return append(out, req)
		case te != nil:
			n := 0
			for _, c := range te {
				if c == "chunked" {
					n++
				}
			}
			if te[len(te)-1] != "chunked" || n != 1 {
				return out // 400 (RFC 9112 6.3, item 4)
			}
			body, err := r.chunked()
			if err != nil {
				return out
			}
			req.body = body
		case cl != nil:
			n := -1
			for _, v := range cl {
				m, err := httprule.ParseContentLength(v)
				if err != nil || m > 1<<30 || n >= 0 && int(m) != n {
					return out
				}
				n = int(m)
			}
			if len(r.b) < n {
				return out
			}
			req.body, r.b = string(r.b[:n]), r.b[n:]
		}
		out = append(out, req)
	}
}

// lines reads lines ending in LF, one CR before it dropped.
type lines struct{ b []byte }

func (r *lines) line() ([]byte, error) {
	i := bytes.IndexByte(r.b, '\n')
	if i < 0 {
		return nil, io.ErrUnexpectedEOF
	}
	line := trimCR(r.b[:i])
	r.b = r.b[i+1:]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, errMalformed // a bare CR (RFC 9112 2.2)
	}
	return line, nil
}

// chunked reads a chunked body (RFC 9112 7.1) and its trailer section.
func (r *lines) chunked() (string, error) {
	var body []byte
	for {
		line, err := r.line()
		if err != nil {
			return "", err
		}
		i := 0
		for i < len(line) && isHex(line[i]) {
			i++
		}
		if i == 0 || i > 15 {
			return "", errMalformed
		}
		if ext := bytes.TrimLeft(line[i:], " \t"); len(ext) > 0 && (ext[0] != ';' || !fieldValue(ext)) {
			return "", errMalformed // chunk-ext: BWS ";" ...
		}
		var n int64
		for _, d := range line[:i] {
			n = n<<4 | int64(unhex(d))
		}
		if n == 0 {
			break
		}
		if int64(len(r.b)) < n {
			return "", io.ErrUnexpectedEOF
		}
		body, r.b = append(body, r.b[:n]...), r.b[n:]
		if line, err := r.line(); err != nil || len(line) != 0 {
			return "", errMalformed
		}
	}
	for { // the trailer section
		line, err := r.line()
		if err != nil {
			return "", err
		}
		if len(line) == 0 {
			return string(body), nil
		}
		if _, _, err := fieldLine(line); err != nil {
			return "", err
		}
	}
}

// requestLine parses method SP request-target SP HTTP/1.x.
func requestLine(line []byte) (strictRequest, byte, error) {
	parts := bytes.Split(line, []byte(" "))
	if len(parts) != 3 || !isToken(parts[0]) || len(parts[1]) == 0 {
		return strictRequest{}, 0, errMalformed
	}
	for _, c := range parts[1] {
		if c <= ' ' || c == 0x7f {
			return strictRequest{}, 0, errMalformed
		}
	}
	v := parts[2]
	if len(v) != 8 || string(v[:7]) != "HTTP/1." || v[7] < '0' || v[7] > '9' {
		return strictRequest{}, 0, errMalformed
	}
	return strictRequest{method: string(parts[0]), target: string(parts[1])}, v[7] - '0', nil
}

// fieldLine parses field-name ":" OWS field-value OWS (RFC 9112 5.1: no
// whitespace before the colon).
func fieldLine(line []byte) (string, string, error) {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok || !isToken(name) {
		return "", "", errMalformed
	}
	value = bytes.Trim(value, " \t")
	if !fieldValue(value) {
		return "", "", errMalformed
	}
	return string(name), string(value), nil
}

// fieldValue reports whether b has no control characters but HTAB.
func fieldValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
