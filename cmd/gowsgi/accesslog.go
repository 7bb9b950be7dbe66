package main

import (
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gowsgi/wsgi"
)

// defaultAccessFormat is gunicorn's --access-logformat default (Apache's
// combined log format).
const defaultAccessFormat = `%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`

// An atom appends its value for one request to a line.
type atom func(dst []byte, e *wsgi.Access, now time.Time) []byte

// accessFormat is a compiled --access-logformat: literal text and atoms,
// in turn.
type accessFormat struct {
	parts []formatPart
}

type formatPart struct {
	lit  string
	atom atom // nil for a literal part
}

// parseAccessFormat compiles a gunicorn access log format: %(NAME)s (any
// conversion letter is taken as s) for each of gunicorn's atoms, with
// %({header}i)s, %({header}o)s and %({key}e)s for a request header, a
// response header and a WSGI environ value; %% is a %. An atom gunicorn
// does not know, like a value that is missing, is "-".
func parseAccessFormat(f string) (*accessFormat, error) {
	var af accessFormat
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			af.parts = append(af.parts, formatPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 == len(f) {
			lit.WriteByte(c)
			continue
		}
		if f[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		if f[i+1] != '(' {
			lit.WriteByte(c)
			continue
		}
		end := strings.IndexByte(f[i+2:], ')')
		if end < 0 {
			return nil, fmt.Errorf("--access-logformat: unclosed %%( at byte %d", i)
		}
		name := f[i+2 : i+2+end]
		j := i + 2 + end + 1 // the conversion letter
		if j >= len(f) || !isLetter(f[j]) {
			return nil, fmt.Errorf("--access-logformat: %%(%s) without a conversion like s", name)
		}
		flush()
		af.parts = append(af.parts, formatPart{atom: atomFor(name)})
		i = j
	}
	flush()
	return &af, nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// atomFor returns the atom NAME stands for, as in gunicorn's glogging.
func atomFor(name string) atom {
	if len(name) > 3 && name[0] == '{' && name[len(name)-2] == '}' {
		key := name[1 : len(name)-2]
		switch name[len(name)-1] {
		case 'i':
			key = textproto.CanonicalMIMEHeaderKey(key)
			return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
				return appendHeader(dst, e.Request.Header, key)
			}
		case 'o':
			key = textproto.CanonicalMIMEHeaderKey(key)
			return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
				return appendHeader(dst, e.Header, key)
			}
		case 'e':
			return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
				v, ok := environFold(e, key)
				if !ok {
					return append(dst, '-')
				}
				return appendValue(dst, v)
			}
		}
	}
	switch name {
	case "h":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte { return appendValue(dst, e.RemoteAddr()) }
	case "l":
		return func(dst []byte, _ *wsgi.Access, _ time.Time) []byte { return append(dst, '-') }
	case "u":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
			u, _, _ := e.Request.BasicAuth()
			if u == "" {
				return append(dst, '-')
			}
			return appendValue(dst, u)
		}
	case "t":
		return func(dst []byte, _ *wsgi.Access, now time.Time) []byte {
			return now.AppendFormat(dst, "[02/Jan/2006:15:04:05 -0700]")
		}
	case "r":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
			r := e.Request
			dst = appendValue(dst, r.Method)
			dst = append(dst, ' ')
			dst = appendValue(dst, r.RequestURI)
			dst = append(dst, ' ')
			return appendValue(dst, r.Proto)
		}
	case "s":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
			return strconv.AppendInt(dst, int64(e.Status), 10)
		}
	case "m":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte { return appendValue(dst, e.Request.Method) }
	case "U":
		return environAtom("PATH_INFO")
	case "q":
		return environAtom("QUERY_STRING")
	case "H":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte { return appendValue(dst, e.Request.Proto) }
	case "b", "B":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte { return strconv.AppendInt(dst, e.Bytes, 10) }
	case "f":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
			return appendHeader(dst, e.Request.Header, "Referer")
		}
	case "a":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
			return appendHeader(dst, e.Request.Header, "User-Agent")
		}
	case "T":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
			return strconv.AppendInt(dst, int64(e.Duration/time.Second), 10)
		}
	case "D":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
			return strconv.AppendInt(dst, int64(e.Duration/time.Microsecond), 10)
		}
	case "M":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
			return strconv.AppendInt(dst, int64(e.Duration/time.Millisecond), 10)
		}
	case "L":
		return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
			us := int64(e.Duration / time.Microsecond)
			dst = strconv.AppendInt(dst, us/1e6, 10)
			dst = append(dst, '.')
			frac := strconv.FormatInt(us%1e6, 10)
			dst = append(dst, "000000"[len(frac):]...)
			return append(dst, frac...)
		}
	case "p":
		pid := "<" + strconv.Itoa(os.Getpid()) + ">"
		return func(dst []byte, _ *wsgi.Access, _ time.Time) []byte { return append(dst, pid...) }
	}
	return func(dst []byte, _ *wsgi.Access, _ time.Time) []byte { return append(dst, '-') }
}

func environAtom(key string) atom {
	return func(dst []byte, e *wsgi.Access, _ time.Time) []byte {
		v, ok := e.Environ(key)
		if !ok {
			return append(dst, '-')
		}
		return appendValue(dst, v)
	}
}

// environFold looks key up in the request's environ as gunicorn does:
// without regard to case.
func environFold(e *wsgi.Access, key string) (string, bool) {
	if v, ok := e.Environ(key); ok {
		return v, true
	}
	if up := strings.ToUpper(key); up != key {
		if v, ok := e.Environ(up); ok {
			return v, true
		}
	}
	return e.Environ(strings.ToLower(key))
}

// appendHeader appends the last value of header key in h (gunicorn's
// dict keeps the last), or "-".
func appendHeader(dst []byte, h http.Header, key string) []byte {
	vs := h[key]
	if len(vs) == 0 {
		return append(dst, '-')
	}
	return appendValue(dst, vs[len(vs)-1])
}

// appendValue appends v with '"' escaped as gunicorn does, and control
// bytes as \xNN, so a value cannot break the line. (A value missing is
// "-", as in gunicorn; one present and empty stays empty.)
func appendValue(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			dst = append(dst, '\\', '"')
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'x', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendLine appends e's line, with its newline.
func (af *accessFormat) appendLine(dst []byte, e *wsgi.Access, now time.Time) []byte {
	for _, p := range af.parts {
		if p.atom == nil {
			dst = append(dst, p.lit...)
		} else {
			dst = p.atom(dst, e, now)
		}
	}
	return append(dst, '\n')
}

// accessLog writes one line a request to a file (or stdout), each with one
// write. Reopen reopens the file, for log rotation (SIGUSR1, as gunicorn).
type accessLog struct {
	format *accessFormat
	path   string // "-": stdout

	mu  sync.Mutex
	out io.Writer
	f   *os.File // out, when it is a file of ours
}

// openAccessLog opens path for appending ("-" is stdout).
func openAccessLog(path, format string) (*accessLog, error) {
	af, err := parseAccessFormat(format)
	if err != nil {
		return nil, err
	}
	l := &accessLog{format: af, path: path, out: os.Stdout}
	if path != "-" {
		if err := l.Reopen(); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Reopen opens the log's file again, closing the old one.
func (l *accessLog) Reopen() error {
	if l.path == "-" {
		return nil
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("--access-logfile: %w", err)
	}
	l.mu.Lock()
	old := l.f
	l.f, l.out = f, f
	l.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// log writes e's line: the function given to wsgi.WithAccessFunc. The
// line is made outside the lock, so only the writes take turns.
func (l *accessLog) log(e *wsgi.Access) {
	bp := lineBufs.Get().(*[]byte)
	line := l.format.appendLine((*bp)[:0], e, time.Now())
	l.mu.Lock()
	l.out.Write(line)
	l.mu.Unlock()
	if cap(line) <= 64<<10 {
		*bp = line[:0]
		lineBufs.Put(bp)
	}
}

// Close closes the log's file.
func (l *accessLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}
