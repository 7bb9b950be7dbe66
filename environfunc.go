package wsgi

import (
	"fmt"
	"net/http"
	"strings"
)

// An EnvironFunc adds entries to a request's environ: what a Go middleware
// learned about the request (an authenticated user as REMOTE_USER, a
// request id, a trace id), typically read back from r.Context(). It runs on
// every request, on the request's goroutine: after a small body was read in
// advance (WithMaxPreread) and after the request has taken a slot
// (WithThreads), before the app is called. With WithProcesses it runs
// in the server process, before a worker is chosen for the request.
//
// Keys the server itself sets — the CGI variables of PEP 3333 (REQUEST_METHOD,
// SCRIPT_NAME, PATH_INFO, QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH,
// SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL, REMOTE_ADDR, REMOTE_PORT,
// REQUEST_URI, RAW_URI), any "wsgi." key and any "HTTP_" key (which would
// pose as a request header) — are refused: the request is answered 500 and
// the error is logged. Use a prefix of your own for custom keys, like
// "gowsgi.request_id" or "myapp.trace_id".
type EnvironFunc func(r *http.Request) map[string]string

// WithEnviron adds the entries f returns to every request's environ.
func WithEnviron(f EnvironFunc) Option {
	return func(o *options) { o.environ = f }
}

var reservedKeys = map[string]bool{
	"REQUEST_METHOD": true, "SCRIPT_NAME": true, "PATH_INFO": true, "QUERY_STRING": true,
	"CONTENT_TYPE": true, "CONTENT_LENGTH": true, "SERVER_NAME": true, "SERVER_PORT": true,
	"SERVER_PROTOCOL": true, "SERVER_SOFTWARE": true, "REMOTE_ADDR": true, "REMOTE_PORT": true,
	"REQUEST_URI": true, "RAW_URI": true,
}

// checkEnvironKey reports why an EnvironFunc may not set key, or nil.
func checkEnvironKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("wsgi: EnvironFunc returned an empty key")
	case reservedKeys[key]:
		return fmt.Errorf("wsgi: EnvironFunc may not set %q: the server sets it from the request (PEP 3333)", key)
	case strings.HasPrefix(key, "wsgi."):
		return fmt.Errorf("wsgi: EnvironFunc may not set %q: the wsgi. keys belong to the server (PEP 3333)", key)
	case strings.HasPrefix(key, "HTTP_"):
		return fmt.Errorf("wsgi: EnvironFunc may not set %q: HTTP_ keys are request headers and setting one would spoof it; use a key of your own like \"myapp.%s\"", key, strings.ToLower(strings.TrimPrefix(key, "HTTP_")))
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("wsgi: EnvironFunc returned a key with a NUL byte: %q", key)
	}
	return nil
}
