package wire

import (
	"encoding/binary"
	"fmt"
	"net/http"
)

// Body modes of a Request.
const (
	NoBody     = 0 // the request has no body
	InlineBody = 1 // the body follows the environ in the Req frame
	StreamBody = 2 // the worker asks for the body with Read frames
)

// Request is a Req frame's payload.
//
//	offset size
//	0      4    Flags
//	4      8    Deadline, Unix nanoseconds, 0 for none
//	12     1    body mode
//	13     2+n  Method
//	       4+n  URI
//	       4+n  Env
//	       rest the body, for InlineBody
type Request struct {
	Flags    uint32 // environ.Flags
	Deadline int64  // of the request's context
	Mode     byte   // NoBody, InlineBody or StreamBody
	Method   string // for HEAD's rules, and logs
	URI      string // for logs
	Env      []byte // the packed environ (environ.Build)
	Body     []byte // an InlineBody
}

// AppendRequest appends r as a Req frame to c's write buffer.
func (c *Conn) AppendRequest(r *Request) {
	n := 13 + 2 + len(r.Method) + 4 + len(r.URI) + 4 + len(r.Env) + len(r.Body)
	b := AppendHeader(c.wbuf, Req, n)
	b = binary.LittleEndian.AppendUint32(b, r.Flags)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Deadline))
	b = append(b, r.Mode)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(r.Method)))
	b = append(b, r.Method...)
	b = appendString(b, r.URI)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Env)))
	b = append(b, r.Env...)
	c.wbuf = append(b, r.Body...)
}

// ParseRequest decodes a Req payload. Env and Body alias p.
func ParseRequest(p []byte) (*Request, error) {
	r := new(Request)
	if err := r.Parse(p); err != nil {
		return nil, err
	}
	return r, nil
}

// Parse decodes a Req payload into r, as ParseRequest, allocating only the
// URI (and a method other than the common ones). Env and Body alias p.
func (r *Request) Parse(p []byte) error {
	if len(p) < 15 {
		return fmt.Errorf("%w: Req of %d bytes", ErrFrame, len(p))
	}
	r.Flags = binary.LittleEndian.Uint32(p)
	r.Deadline = int64(binary.LittleEndian.Uint64(p[4:]))
	r.Mode = p[12]
	n := int(binary.LittleEndian.Uint16(p[13:]))
	p = p[15:]
	if n > len(p) {
		return fmt.Errorf("%w: Req method", ErrFrame)
	}
	r.Method, p = method(p[:n]), p[n:]
	var uri, env []byte
	var ok bool
	if uri, p, ok = cut(p); !ok {
		return fmt.Errorf("%w: Req URI", ErrFrame)
	}
	if env, p, ok = cut(p); !ok {
		return fmt.Errorf("%w: Req environ", ErrFrame)
	}
	r.URI, r.Env, r.Body = string(uri), env, p
	return nil
}

// method returns b as a string, without allocating for the common methods.
func method(b []byte) string {
	switch string(b) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "PATCH":
		return "PATCH"
	case "OPTIONS":
		return "OPTIONS"
	}
	return string(b)
}

// noValues marks a header present without values (Content-Type: nil
// tells net/http to send none and not to sniff one).
const noValues = ^uint32(0)

// AppendHead appends a Head frame: code and h as they are.
func (c *Conn) AppendHead(code int, h http.Header) {
	start := len(c.wbuf)
	b := AppendHeader(c.wbuf, Head, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(code))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(h)))
	for k, vs := range h {
		b = appendString(b, k)
		if vs == nil {
			b = binary.LittleEndian.AppendUint32(b, noValues)
			continue
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	binary.LittleEndian.PutUint32(b[start+4:], uint32(len(b)-start-HeaderSize))
	c.wbuf = b
}

// errBadHead is ParseHead's error, made once: a response's head is parsed
// on every request.
var errBadHead = fmt.Errorf("%w: Head", ErrFrame)

// ParseHead decodes a Head payload, adding its headers to h. Its strings
// share one allocation, its values another.
func ParseHead(p []byte, h http.Header) (code int, err error) {
	bad := errBadHead
	if len(p) < 6 {
		return 0, bad
	}
	code = int(binary.LittleEndian.Uint16(p))
	n := binary.LittleEndian.Uint32(p[2:])
	p = p[6:]
	// First the frame is checked and its values counted, then its strings
	// are cut from one copy of it.
	total := 0
	q := p
	for i := uint32(0); i < n; i++ {
		_, rest, ok := cut(q)
		if !ok || len(rest) < 4 {
			return 0, bad
		}
		nv := binary.LittleEndian.Uint32(rest)
		q = rest[4:]
		if nv == noValues {
			continue
		}
		if uint64(nv) > uint64(len(q)/4) {
			return 0, bad
		}
		for j := uint32(0); j < nv; j++ {
			if _, q, ok = cut(q); !ok {
				return 0, bad
			}
		}
		total += int(nv)
	}
	s := string(p[:len(p)-len(q)])
	vals := make([]string, total)
	for i := uint32(0); i < n; i++ {
		var k string
		k, s = cutString(s)
		nv := uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
		s = s[4:]
		if nv == noValues {
			h[k] = nil
			continue
		}
		vs := vals[:nv:nv]
		vals = vals[nv:]
		for j := range vs {
			vs[j], s = cutString(s)
		}
		h[k] = vs
	}
	return code, nil
}

// cutString splits a length-prefixed field off s, which ParseHead has
// checked.
func cutString(s string) (field, rest string) {
	n := uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
	return s[4 : 4+n], s[4+n:]
}

// Body error kinds of a BodyErr frame, and of a FileDone.
const (
	ErrNone      = 0
	ErrMalformed = 1 // the client's body breaks its framing
	ErrGone      = 2 // the client is gone, or its connection failed
	ErrFileRead  = 3 // reading the file failed (FileDone)
	ErrTooLarge  = 4 // the body passed its cap (BodyErr's n: the cap)
	ErrTimeout   = 5 // the client sent the body too slowly
)

// AppendUint appends a frame of type t whose payload is v, little-endian.
func (c *Conn) AppendUint(t Type, v uint64) {
	c.wbuf = binary.LittleEndian.AppendUint64(AppendHeader(c.wbuf, t, 8), v)
}

// Uint decodes the payload of an AppendUint frame.
func Uint(p []byte) (uint64, error) {
	if len(p) != 8 {
		return 0, fmt.Errorf("%w: want 8 bytes, got %d", ErrFrame, len(p))
	}
	return binary.LittleEndian.Uint64(p), nil
}

// AppendError appends a frame of type t (BodyErr, FileDone) with a count,
// an error kind and its message.
func (c *Conn) AppendError(t Type, n int64, kind byte, msg string) {
	b := AppendHeader(c.wbuf, t, 9+len(msg))
	b = binary.LittleEndian.AppendUint64(b, uint64(n))
	b = append(b, kind)
	c.wbuf = append(b, msg...)
}

// ParseError decodes an AppendError payload.
func ParseError(p []byte) (n int64, kind byte, msg string, err error) {
	if len(p) < 9 {
		return 0, 0, "", fmt.Errorf("%w: error frame of %d bytes", ErrFrame, len(p))
	}
	return int64(binary.LittleEndian.Uint64(p)), p[8], string(p[9:]), nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.LittleEndian.AppendUint32(b, uint32(len(s))), s...)
}

// cut splits a length-prefixed field off p.
func cut(p []byte) (field, rest []byte, ok bool) {
	if len(p) < 4 {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint32(p)
	if uint64(n) > uint64(len(p)-4) {
		return nil, nil, false
	}
	return p[4 : 4+n], p[4+n:], true
}
