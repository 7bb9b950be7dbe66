// Package framing guards a Go HTTP/1.x server against request smuggling
// through ambiguous body framing, for servers behind a proxy.
//
// net/http accepts a request that has both Content-Length and
// Transfer-Encoding: chunked (it drops the Content-Length), accepts
// Transfer-Encoding on HTTP/1.0 (it ignores it) and unfolds obs-fold
// header lines, and in each case keeps the connection open for the next
// request. A proxy in front that frames the body differently then lets a
// client smuggle a request past it (RFC 9112, sections 6.1, 6.3 and 11.2;
// RFC 9112 5.2 allows rejecting obs-fold). None of that is visible to a
// handler or to middleware: by the time they run, the Content-Length header
// is gone. Only a reader of the raw bytes can tell, so the guard is a
// net.Listener wrapper:
//
//	ln, err := net.Listen("tcp", ":8000")
//	...
//	srv.Serve(framing.Guard(ln))
//
// Each connection it accepts reads the request stream ahead of net/http
// and follows its framing exactly as net/http does (request heads,
// Content-Length bodies, chunked bodies and trailers). Each request head
// is held back until it is complete; a head with such an ambiguity has the
// first byte of the offending header line replaced by NUL, which net/http
// refuses as a malformed header line: the client gets "400 Bad Request"
// and the connection is closed, as for any other malformed request. Bytes
// are otherwise passed on unchanged, and well-framed requests are served
// as without the guard. Where the stream stops making sense (a request
// net/http refuses anyway, or an HTTP/2 preface) the connection stops
// looking and passes everything through.
//
// The guard is for plain HTTP/1.x listeners only, which is what a proxy
// talks to: under TLS net/http must see the *tls.Conn itself (for
// r.TLS and HTTP/2), and the guard would see only encrypted bytes if
// wrapped underneath it.
//
// The package is pure Go and depends on no other gowsgi package but the
// HTTP byte rules of internal/httprule, which package response shares; the
// gowsgi command serves every plain-HTTP --bind through it.
package framing

import (
	"bytes"
	"errors"
	"io"
	"net"

	"github.com/gowsgi/wsgi/internal/httprule"
)

// maxHeadHold bounds a request head held back: past net/http's own limit
// (DefaultMaxHeaderBytes plus its 4096 bytes of slack, and a bufio buffer),
// which answers 431 first.
const maxHeadHold = 1<<20 + 4096 + 4096

// maxChunkLine bounds a chunk-size line; net/http refuses one of 4096 bytes
// or more (and lines longer than its 4096-byte buffer).
const maxChunkLine = 4096 + 2

// Guard returns a listener whose connections refuse requests with
// ambiguous framing (see the package documentation) and pass everything
// else to the server unchanged. Serve plain HTTP/1.x on it, not TLS.
func Guard(ln net.Listener) net.Listener { return listener{ln} }

// GuardConn wraps one accepted connection as Guard does, for a server that
// accepts connections itself (and hands them to net/http through a
// listener of its own). The returned conn keeps c's io.ReaderFrom
// (sendfile) and CloseWrite.
func GuardConn(c net.Conn) net.Conn { return &conn{Conn: c} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c}, nil
}

type framingState uint8

const (
	stHead      framingState = iota // reading a request head (held back)
	stBody                          // left bytes of a Content-Length body
	stChunkLine                     // a chunk-size line, in line
	stChunkData                     // left bytes of chunk data
	stChunkEnd                      // the CRLF after chunk data, in line
	stTrailer                       // trailer lines, up to an empty one
	stOff                           // not following: pass everything through
)

type conn struct {
	net.Conn
	st   framingState
	left int64  // stBody, stChunkData: bytes to come
	hold []byte // stHead: the incomplete head read so far
	post bool   // stHead: the request before was a POST
	skip int    // stHead: CR and LF bytes in front of the head in hold
	line []byte // stChunkLine, stChunkEnd: the line so far
	tlen int    // stTrailer: length of the current line so far
	tcr  bool   // stTrailer: the current line so far is "\r"
	pend []byte // bytes passed on; pend[poff:] are not yet returned by Read
	poff int
	buf  []byte // read buffer
	err  error  // sticky read error, returned once pend is empty
}

// ReadFrom and CloseWrite keep what net/http gets from the plain conn:
// sendfile(2) for file bodies and a half-close before closing.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for c.poff == len(c.pend) {
		c.pend, c.poff = c.pend[:0], 0
		switch {
		case c.err != nil:
			return 0, c.err
		case c.st == stOff:
			return c.Conn.Read(p)
		case c.st == stBody:
			// Body bytes need no look: read them straight in.
			if int64(len(p)) > c.left {
				p = p[:c.left]
			}
			n, err := c.Conn.Read(p)
			if c.left -= int64(n); c.left == 0 {
				c.st = stHead
			}
			return n, err
		}
		if c.buf == nil {
			c.buf = make([]byte, 4096)
		}
		n, err := c.Conn.Read(c.buf)
		c.feed(c.buf[:n])
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				c.pend, c.hold, c.err, c.st = append(c.pend, c.hold...), c.hold[:0], err, stOff
			} else if len(c.pend) == 0 {
				// net/http's deadlines (its background read is cut
				// short that way): a held head stays held.
				return 0, err
			}
		}
	}
	n := copy(p, c.pend[c.poff:])
	c.poff += n
	return n, nil
}

// feed follows the framing over b, the next bytes from the client, and
// moves them to pend, or to hold if they begin a head not yet complete.
func (c *conn) feed(b []byte) {
	for len(b) > 0 {
		switch c.st {
		case stOff:
			c.pend = append(c.pend, b...)
			return
		case stHead:
			if len(c.hold) == 0 && !c.post {
				// Most often the whole head is in b: look at it in place.
				if end := c.head(b, 0); end > 0 {
					b = b[end:]
					continue
				}
				c.hold = append(c.hold, b...)
			} else {
				from := len(c.hold)
				c.hold = append(c.hold, b...)
				if c.post {
					// After a POST net/http peeks at 4 bytes and skips
					// the CRs and LFs they start with.
					if len(c.hold) < 4 {
						return
					}
					k := 0
					for k < 4 && (c.hold[k] == '\r' || c.hold[k] == '\n') {
						k++
					}
					c.skip, c.post, from = k, false, 0
				}
				if headEnd(c.hold, c.skip, from) > 0 {
					end := c.head(c.hold, c.skip)
					c.skip = 0
					if held := len(c.hold) - len(b); end >= held {
						b = b[end-held:] // what follows the head, in b
					} else {
						b = append(append([]byte(nil), c.hold[end:held]...), b...)
					}
					c.hold = c.hold[:0]
					continue
				}
			}
			if len(c.hold) > maxHeadHold {
				c.pend, c.hold, c.st = append(c.pend, c.hold...), c.hold[:0], stOff
			}
			return
		case stBody, stChunkData:
			n := len(b)
			if int64(n) > c.left {
				n = int(c.left)
			}
			c.pend = append(c.pend, b[:n]...)
			b = b[n:]
			if c.left -= int64(n); c.left == 0 {
				if c.st == stBody {
					c.st = stHead
				} else {
					c.st, c.line = stChunkEnd, c.line[:0]
				}
			}
		case stChunkLine, stChunkEnd:
			i := bytes.IndexByte(b, '\n')
			n := len(b)
			if i >= 0 {
				n = i + 1
			}
			c.pend = append(c.pend, b[:n]...)
			c.line = append(c.line, b[:n]...)
			b = b[n:]
			switch {
			case c.st == stChunkEnd:
				// net/http reads two bytes and wants them to be CRLF.
				if string(c.line) == "\r\n" {
					c.st, c.line = stChunkLine, c.line[:0]
				} else if i >= 0 || len(c.line) >= 2 {
					c.st = stOff
				}
			case len(c.line) > maxChunkLine:
				c.st = stOff
			case i >= 0:
				c.chunkLine()
			}
		case stTrailer:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				c.pend = append(c.pend, b...)
				c.tcr = c.tlen == 0 && len(b) == 1 && b[0] == '\r'
				c.tlen += len(b)
				return
			}
			line := b[:i]
			c.pend = append(c.pend, b[:i+1]...)
			b = b[i+1:]
			blank := c.tlen == 0 && (len(line) == 0 || len(line) == 1 && line[0] == '\r') ||
				c.tlen == 1 && c.tcr && len(line) == 0
			c.tlen, c.tcr = 0, false
			if blank {
				c.st = stHead
			}
		}
	}
}

// headEnd returns the index just past the end of the request head that
// starts at p[start]: past its first empty line ("" or "\r" before the
// '\n', as bufio.Reader.ReadLine and so net/textproto see lines). It
// returns 0 if p holds no end yet; bytes before from-2 have been looked
// at already.
func headEnd(p []byte, start, from int) int {
	switch {
	case len(p) > start && p[start] == '\n':
		return start + 1
	case len(p) > start+1 && p[start] == '\r' && p[start+1] == '\n':
		return start + 2
	}
	from = max(start, from-2)
	q := p[from:]
	end := 0
	if i := bytes.Index(q, []byte("\n\r\n")); i >= 0 {
		end, q = from+i+3, q[:i+1]
	}
	if i := bytes.Index(q, []byte("\n\n")); i >= 0 {
		end = from + i + 2
	}
	return end
}

// head looks for a complete request head in p, after skip bytes of CR and
// LF that net/http skips. If there is one it passes it on, poisoned if its
// framing is ambiguous, takes the framing of its request and returns where
// it ends; else it changes nothing and returns 0.
func (c *conn) head(p []byte, skip int) int {
	h := p[skip:]
	nl := bytes.IndexByte(h, '\n')
	if nl < 0 {
		return 0
	}
	reqLine := trimCR(h[:nl])
	end := nl + 1
	fold, teAt, clAt := -1, -1, -1
	var te, cl []byte
	nte, clSame := 0, true
	for len(reqLine) > 0 { // up to the empty line
		i := bytes.IndexByte(h[end:], '\n')
		if i < 0 {
			return 0
		}
		off := end
		line := trimCR(h[off : off+i])
		end = off + i + 1
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if fold < 0 {
				fold = off
			}
		} else if len(line) > len("content-length") && (line[0]|0x20 == 'c' || line[0]|0x20 == 't') {
			// Only the two framing headers matter: a quick look first.
			name, val, _ := bytes.Cut(line, []byte(":"))
			switch {
			case httprule.EqualFold(name, "content-length"):
				val = trimOWS(val)
				if clAt < 0 {
					clAt, cl = off, val
				} else if !bytes.Equal(cl, val) {
					clSame = false
				}
			case httprule.EqualFold(name, "transfer-encoding"):
				if teAt < 0 {
					teAt = off
				}
				nte++
				te = trimOWS(val)
			}
		}
	}
	c.pend = append(c.pend, p[:skip+end]...)
	out := c.pend[len(c.pend)-end:] // the copy that goes out, to poison

	method, rest, ok1 := bytes.Cut(reqLine, []byte(" "))
	_, proto, ok2 := bytes.Cut(rest, []byte(" "))
	c.post = ok1 && string(method) == "POST"
	switch {
	case !ok1 || !ok2 || len(proto) != 8 || string(proto[:7]) != "HTTP/1." || proto[7] < '0' || proto[7] > '9':
		c.st = stOff // net/http refuses it, or it is "PRI * HTTP/2.0" (then the conn ends)
	case fold >= 0:
		out[fold] = 0 // obs-fold: might hide or split a framing header
		c.st = stOff
	case teAt >= 0 && (clAt >= 0 || proto[7] == '0'):
		out[teAt] = 0 // both framings, or Transfer-Encoding on HTTP/1.0
		c.st = stOff
	case teAt >= 0 && nte == 1 && httprule.EqualFold(te, "chunked"):
		c.st, c.line = stChunkLine, c.line[:0]
	case teAt >= 0:
		c.st = stOff // net/http answers 501 and closes
	case clAt >= 0:
		n, err := httprule.ParseContentLength(cl)
		switch {
		case !clSame || err != nil:
			c.st = stOff // net/http answers 400 and closes
		case n == 0:
			c.st = stHead
		default:
			c.st, c.left = stBody, n
		}
	default:
		c.st = stHead
	}
	return skip + end
}

// chunkLine reads the complete chunk-size line in c.line as net/http's
// chunked reader does.
func (c *conn) chunkLine() {
	p := c.line
	if len(p) < 2 || bytes.IndexByte(p, '\r') != len(p)-2 {
		c.st = stOff // bare LF, or a CR inside: refused
		return
	}
	p = p[:len(p)-2]
	if len(p) >= 4096 {
		c.st = stOff
		return
	}
	for len(p) > 0 && (p[len(p)-1] == ' ' || p[len(p)-1] == '\t') {
		p = p[:len(p)-1]
	}
	if i := bytes.IndexByte(p, ';'); i >= 0 {
		p = p[:i]
	}
	if len(p) == 0 || len(p) > 16 {
		c.st = stOff
		return
	}
	var n uint64
	for _, d := range p {
		switch {
		case '0' <= d && d <= '9':
			d -= '0'
		case 'a' <= d && d <= 'f':
			d -= 'a' - 10
		case 'A' <= d && d <= 'F':
			d -= 'A' - 10
		default:
			c.st = stOff
			return
		}
		n = n<<4 | uint64(d)
	}
	c.line = c.line[:0]
	switch {
	case n == 0:
		c.st, c.tlen, c.tcr = stTrailer, 0, false
	case n > 1<<62:
		c.st = stOff // more than anyone sends; stop following
	default:
		c.st, c.left = stChunkData, int64(n)
	}
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// trimOWS trims what net/textproto.TrimString does.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
