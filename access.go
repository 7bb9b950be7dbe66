package wsgi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gowsgi/wsgi/environ"
)

// An Access is what an App knows of one request once it has answered it:
// what WithAccessFunc's function is given. It is valid only during that
// call; the function must copy what it keeps.
type Access struct {
	// Request is the request as the App got it.
	Request *http.Request

	// Start is when the App got the request; Duration how long it took
	// to answer it, up to the last byte handed to the connection.
	Start    time.Time
	Duration time.Duration

	// Status is the status code sent: the app's, or the one gowsgi
	// answered for it (500 for an app error, 413, 414 or 431 from a
	// limit, 503 when no thread or worker was free, 504 past the
	// timeout, 502 for a worker process lost). It is 0 when nothing was
	// sent: the client went away first.
	Status int

	// Bytes is how many body bytes were handed to the connection (after
	// Content-Length's cut; never the header, nor chunked framing).
	Bytes int64

	// Header is the response header as sent. It must not be changed.
	Header http.Header

	// Aborted reports that the response was cut off: the connection was
	// closed before its end (an app error after the header was sent, a
	// body shorter than its Content-Length, the client gone).
	Aborted bool

	app     *App
	env     []environ.Var
	envDone bool
}

// Environ returns the value of the WSGI environ key (REMOTE_ADDR,
// PATH_INFO, HTTP_USER_AGENT, ...) as the app was given it for this
// request, and whether it was there. Keys added by WithEnviron are not
// included. The environ is rebuilt on the first call, so a function that
// needs none of it pays nothing.
func (e *Access) Environ(key string) (string, bool) {
	if !e.envDone {
		e.envDone = true
		bp := envPool.Get().(*[]byte)
		packed, _ := environ.Build((*bp)[:0], e.Request, &e.app.envOpt)
		e.env, _ = environ.Decode(packed) // copies the strings
		*bp = packed[:0]
		envPool.Put(bp)
	}
	v, ok := "", false
	for _, kv := range e.env {
		if kv.Key == key {
			v, ok = kv.Value, true // the last one wins, as in the dict
		}
	}
	return v, ok
}

// RemoteAddr is the client's address as the app sees it in REMOTE_ADDR:
// the address a trusted proxy forwarded (WithTrustedProxies), else the
// peer's.
func (e *Access) RemoteAddr() string {
	if v, ok := e.Environ("REMOTE_ADDR"); ok {
		return v
	}
	return e.Request.RemoteAddr
}

// WithAccessFunc calls f once for every request the App answers, on the
// request's goroutine, once the response is done (or cut off) and before
// ServeHTTP returns: an access log, metrics of one's own. f must not keep
// the *Access past its return. Several WithAccessFunc and WithAccessLog
// options add up, called in order. Without any, the App does none of the
// accounting.
func WithAccessFunc(f func(*Access)) Option {
	return func(o *options) {
		if f != nil {
			o.access = append(o.access, f)
		}
	}
}

// WithAccessLog logs one record for every request the App answers to l,
// at level Info with the message "request", once the response is done:
// method, uri (as sent), proto, status, bytes (of the body), duration,
// remote (REMOTE_ADDR, see Access.RemoteAddr), user_agent and referer
// when the request has them, and aborted=true for a response cut off.
// It is WithAccessFunc with Access.LogAttrs.
func WithAccessLog(l *slog.Logger) Option {
	return WithAccessFunc(func(e *Access) {
		ctx := context.Background()
		if !l.Enabled(ctx, slog.LevelInfo) {
			return
		}
		l.LogAttrs(ctx, slog.LevelInfo, "request", e.LogAttrs()...)
	})
}

// LogAttrs returns the access record's attributes as WithAccessLog logs
// them.
func (e *Access) LogAttrs() []slog.Attr {
	r := e.Request
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("method", r.Method),
		slog.String("uri", requestURI(r)),
		slog.String("proto", r.Proto),
		slog.Int("status", e.Status),
		slog.Int64("bytes", e.Bytes),
		slog.Duration("duration", e.Duration),
		slog.String("remote", e.RemoteAddr()))
	if ua := r.Header.Get("User-Agent"); ua != "" {
		attrs = append(attrs, slog.String("user_agent", ua))
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		attrs = append(attrs, slog.String("referer", ref))
	}
	if e.Aborted {
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	return attrs
}

// requestURI is the request target as sent (RAW_URI).
func requestURI(r *http.Request) string {
	if r.RequestURI != "" || r.URL == nil {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// observed reports whether requests are accounted: an access function or
// a registered collector wants them.
func (a *App) observed() bool { return len(a.opt.access) > 0 || a.metrics.on.Load() }

var accessPool = sync.Pool{New: func() any { return new(recorder) }}

// serveObserved is serveHTTP with the status, the bytes and the time of
// the response recorded, for the access functions and the metrics.
func (a *App) serveObserved(w http.ResponseWriter, r *http.Request) {
	rc := accessPool.Get().(*recorder)
	rc.w = w
	start := time.Now()
	done := false
	defer func() {
		// Also run when the handler panics (http.ErrAbortHandler): the
		// panic goes on to net/http once this returns.
		status := rc.status
		if status == 0 && done && r.Context().Err() == nil {
			status = http.StatusOK // net/http's answer to a handler that wrote nothing
		}
		e := &rc.access // pooled with the recorder: no allocation
		*e = Access{Request: r, Start: start, Duration: time.Since(start), Status: status, Bytes: rc.bytes,
			Header: w.Header(), Aborted: !done, app: a}
		a.metrics.end(e)
		for _, f := range a.opt.access {
			f(e)
		}
		*rc = recorder{}
		accessPool.Put(rc)
	}()
	a.serveHTTP(rc, r)
	done = true
}

// A recorder is the ResponseWriter of an observed request: it counts the
// status and the body bytes on their way to the connection's. It keeps
// what the connection's can do: flushing (http.Flusher, and
// http.ResponseController through Unwrap, for deadlines too) and
// io.ReaderFrom, so a file still goes out with sendfile(2).
type recorder struct {
	w      http.ResponseWriter
	status int
	bytes  int64
	access Access // the request's, once it is done
}

// Header returns the connection's header map.
func (rc *recorder) Header() http.Header { return rc.w.Header() }

// WriteHeader records the first final status and passes code on.
func (rc *recorder) WriteHeader(code int) {
	if rc.status == 0 && code >= 200 {
		rc.status = code
	}
	rc.w.WriteHeader(code)
}

// Write counts what the connection's Write took.
func (rc *recorder) Write(p []byte) (int, error) {
	if rc.status == 0 {
		rc.status = http.StatusOK
	}
	n, err := rc.w.Write(p)
	rc.bytes += int64(n)
	return n, err
}

// ReadFrom copies src with the connection's ReadFrom (sendfile(2) for a
// file, when the length is declared) and counts what it took.
func (rc *recorder) ReadFrom(src io.Reader) (int64, error) {
	if rc.status == 0 {
		rc.status = http.StatusOK
	}
	if rf, ok := rc.w.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(src)
		rc.bytes += n
		return n, err
	}
	return io.Copy(writerOnly{rc}, src)
}

// writerOnly hides a ResponseWriter's ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }

// Flush flushes the connection (http.Flusher).
func (rc *recorder) Flush() { rc.FlushError() }

// FlushError flushes the connection and returns its error, as
// http.ResponseController's Flush wants.
func (rc *recorder) FlushError() error { return http.NewResponseController(rc.w).Flush() }

// Unwrap returns the connection's ResponseWriter, for
// http.ResponseController.
func (rc *recorder) Unwrap() http.ResponseWriter { return rc.w }

// connWriter returns the connection's ResponseWriter under w: what
// http.MaxBytesReader must be given to close the connection after a body
// too large.
func connWriter(w http.ResponseWriter) http.ResponseWriter {
	if rc, ok := w.(*recorder); ok {
		return rc.w
	}
	return w
}
