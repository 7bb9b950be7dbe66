package wsgi

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// RequestLimits bound the head of a request the App accepts, as
// gunicorn's --limit-request-* settings do. A request past one is
// answered before the app is called: a request line too long with "414
// URI Too Long", too many header fields or one too large with "431
// Request Header Fields Too Large". A zero field sets no bound.
//
// net/http has read the head by then (within http.Server.MaxHeaderBytes,
// 1 MiB by default, past which it answers 431 itself); the limits keep
// what reaches Python to what gunicorn would let through.
type RequestLimits struct {
	// Line is the most bytes in the request line: the method, the
	// request target and the protocol version, with the two spaces
	// between them (gunicorn's limit_request_line).
	Line int

	// Fields is the most header fields, each repetition of a name
	// counted, Host included (limit_request_fields).
	Fields int

	// FieldSize is the most bytes in one header field: its name, ": "
	// and its value (limit_request_field_size).
	FieldSize int
}

// DefaultRequestLimits are gunicorn's defaults, which every App applies
// unless WithRequestLimits says otherwise.
var DefaultRequestLimits = RequestLimits{Line: 4094, Fields: 100, FieldSize: 8190}

// WithRequestLimits sets the bounds on a request's head (see
// RequestLimits). RequestLimits{} sets none.
func WithRequestLimits(l RequestLimits) Option {
	return func(o *options) { o.limits = l }
}

// WithMaxRequestBody caps a request body at n bytes: a request that
// declares a larger Content-Length is answered "413 Content Too Large"
// before the app runs, and a chunked body that grows past n fails the
// app's read of wsgi.input, answered 413 too if the app lets the error
// escape before it started its response. The connection is closed after
// such a request. 0, the default, sets no cap.
func WithMaxRequestBody(n int64) Option {
	return func(o *options) { o.maxBody = max(n, 0) }
}

// checkHead answers a request whose head passes a RequestLimits bound, and
// reports whether it did.
func (a *App) checkHead(w http.ResponseWriter, r *http.Request) bool {
	status, what := a.opt.limits.check(r)
	if r.Method == "PRI" && r.ProtoMajor == 2 {
		// The HTTP/2 connection preface on a listener that does not
		// speak it (no TLS, no h2c): not a request for the app.
		status, what = http.StatusHTTPVersionNotSupported, "HTTP/2 preface on an HTTP/1 connection"
	}
	if status == 0 {
		return false
	}
	a.log.Info("request refused before the app", "status", status, "method", r.Method, "why", what)
	w.Header().Set("Connection", "close")
	http.Error(w, http.StatusText(status)+": "+what, status)
	return true
}

// check returns the status that r's head earns, 0 if it passes, and what
// it passed.
func (l RequestLimits) check(r *http.Request) (int, string) {
	if l.Line > 0 {
		uri := r.RequestURI
		if uri == "" && r.URL != nil {
			uri = r.URL.RequestURI()
		}
		if n := len(r.Method) + 1 + len(uri) + 1 + len(r.Proto); n > l.Line {
			return http.StatusRequestURITooLong, fmt.Sprintf("request line of %d bytes, more than %d", n, l.Line)
		}
	}
	if l.Fields == 0 && l.FieldSize == 0 {
		return 0, ""
	}
	fields := 0
	if r.Host != "" {
		fields++
		if l.FieldSize > 0 && len("Host: ")+len(r.Host) > l.FieldSize {
			return http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("header Host larger than %d bytes", l.FieldSize)
		}
	}
	for name, values := range r.Header {
		fields += len(values)
		if l.FieldSize == 0 {
			continue
		}
		for _, v := range values {
			if len(name)+2+len(v) > l.FieldSize {
				return http.StatusRequestHeaderFieldsTooLarge,
					fmt.Sprintf("header %.64s of %d bytes, more than %d", name, len(name)+2+len(v), l.FieldSize)
			}
		}
	}
	if l.Fields > 0 && fields > l.Fields {
		return http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("%d header fields, more than %d", fields, l.Fields)
	}
	return 0, ""
}

// capBody applies WithMaxRequestBody to r: it answers 413 for a declared
// length past the cap (and reports true), and otherwise returns the body to
// read, bounded as it is read when its length is unknown. r.Body itself is
// left as the caller gave it.
func (a *App) capBody(w http.ResponseWriter, r *http.Request) (io.ReadCloser, bool) {
	n := a.opt.maxBody
	if n == 0 || r.Body == nil || r.Body == http.NoBody {
		return r.Body, false
	}
	if r.ContentLength > n {
		a.log.Info("request refused before the app", "status", http.StatusRequestEntityTooLarge, "method", r.Method,
			"why", "Content-Length "+strconv.FormatInt(r.ContentLength, 10)+" past the cap of "+strconv.FormatInt(n, 10))
		w.Header().Set("Connection", "close")
		http.Error(w, "Content Too Large: the body is larger than "+strconv.FormatInt(n, 10)+" bytes", http.StatusRequestEntityTooLarge)
		return nil, true
	}
	if r.ContentLength < 0 {
		return http.MaxBytesReader(connWriter(w), r.Body, n), false
	}
	return r.Body, false
}
