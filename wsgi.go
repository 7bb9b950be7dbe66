package wsgi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gowsgi/wsgi/environ"
	"github.com/gowsgi/wsgi/interp"
	"github.com/gowsgi/wsgi/response"
)

// App serves one Python WSGI application. It is an http.Handler.
type App struct {
	spec   string
	opt    options
	py     *interp.App
	envOpt environ.Options
	log    *slog.Logger

	slots chan *slot // the free slots: at most opt.threads requests in Python
	procs *procs     // the worker processes, with WithProcesses; else nil

	queueState
	metrics metrics // what the prometheus.Collector reports

	mu     sync.Mutex
	closed bool
}

// A slot is what one request in Python needs; slots are reused.
type slot struct {
	call *interp.Call
	w    response.Writer
	env  []byte
}

// ErrClosed is returned by Close on an App already closed.
var ErrClosed = errors.New("wsgi: app closed")

var (
	appsMu sync.Mutex
	apps   = map[*App]struct{}{}
)

// New loads the WSGI app named by spec and returns a handler serving it.
// spec is "module:attr" like gunicorn's: attr may be dotted
// ("pkg.mod:obj.app") or a factory call with literal arguments
// ("mod:create_app('prod')"); a bare "module" means "module:application".
//
// The first New starts the Python interpreter, for the whole process. An
// app that fails to import or build is a *[LoadError], with its Python
// traceback. After [Shutdown] New fails with [ErrStopped]; with another
// venv (WithVenv or $VIRTUAL_ENV) than the interpreter was started with,
// with an error wrapping [ErrOtherVenv]. An App in worker processes
// (WithProcesses) starts no interpreter in this process, so neither of
// those applies to it.
func New(spec string, opts ...Option) (*App, error) {
	o := defaults()
	for _, f := range opts {
		f(&o)
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	envOpt, err := o.environOptions()
	if err != nil {
		return nil, err
	}
	if o.processes > 0 {
		return newProcs(spec, o, envOpt)
	}
	if err := interp.Start(interp.Config{Venv: o.venv}); err != nil {
		if errors.Is(err, ErrOtherVenv) {
			return nil, fmt.Errorf("wsgi: %w; the Apps of one process share its one interpreter, so give them all the same WithVenv (one without it gets $VIRTUAL_ENV), or serve this one in worker processes (WithProcesses), which start their own", err)
		}
		return nil, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("wsgi: %w", err)
	}
	py, err := interp.Load(spec, interp.AppOptions{
		PythonPath:   append(append([]string{}, o.pythonPath...), wd),
		Multithread:  o.threads > 1,
		Multiprocess: o.multiprocess,
		Log:          o.log,
		Fixed:        o.fixed,

		InterruptOnDisconnect: o.interruptGone,
	})
	if err != nil {
		return nil, err
	}
	a := &App{spec: spec, opt: o, envOpt: envOpt, py: py, log: o.log, slots: make(chan *slot, o.threads)}
	for i := 0; i < o.threads; i++ {
		a.slots <- &slot{call: py.NewCall(), env: make([]byte, 0, 2048)}
	}
	appsMu.Lock()
	apps[a] = struct{}{}
	appsMu.Unlock()
	return a, nil
}

// newProcs is New for an app in worker processes: this process does not
// start Python.
func newProcs(spec string, o options, envOpt environ.Options) (*App, error) {
	a := &App{spec: spec, opt: o, envOpt: envOpt, log: o.log}
	p, err := startProcs(a)
	if err != nil {
		return nil, err
	}
	a.procs = p
	appsMu.Lock()
	apps[a] = struct{}{}
	appsMu.Unlock()
	return a, nil
}

// LoadError is the error of an app that failed to import or build, with
// Python's traceback: New returns a *LoadError (see errors.As).
type LoadError = interp.LoadError

// ErrStopped is returned by New after Shutdown stopped the Python
// interpreter: CPython cannot be started again in the same process.
var ErrStopped = interp.ErrStopped

// ErrOtherVenv is wrapped by the error New returns when the App's venv
// (WithVenv, else $VIRTUAL_ENV) is not the one the running interpreter was
// started with: one process has one interpreter, and all its Apps share
// its venv.
var ErrOtherVenv = interp.ErrOtherVenv

// Handler is New for use in an expression: it panics, with the Python
// traceback, if the app cannot be loaded.
func Handler(spec string, opts ...Option) http.Handler {
	a, err := New(spec, opts...)
	if err != nil {
		panic(err)
	}
	return a
}

var prereadPool = sync.Pool{New: func() any { b := make([]byte, 0, DefaultMaxPreread); return &b }}

// ServeHTTP runs the app for one request. A request past the App's
// RequestLimits or WithMaxRequestBody is answered 414, 431 or 413 before
// the app runs, and one past WithMaxQueue 503.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.observed() {
		a.serveObserved(w, r)
		return
	}
	a.serveHTTP(w, r)
}

// serveHTTP is ServeHTTP without the accounting.
func (a *App) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if a.checkHead(w, r) {
		return
	}
	capped, refused := a.capBody(w, r)
	if refused || !a.admit(w) {
		return
	}
	defer a.leave()
	// The request's deadline is passed down as a time, not as a context
	// with a timer: interp watches every running request's deadline with
	// one goroutine. A worker process's relay still takes a context (see
	// procs.dispatch).
	var deadline time.Time
	if a.opt.timeout > 0 {
		if a.procs != nil {
			ctx, cancel := context.WithTimeout(r.Context(), a.opt.timeout)
			defer cancel()
			r = r.WithContext(ctx)
		} else {
			deadline = time.Now().Add(a.opt.timeout)
		}
	}
	if d, ok := r.Context().Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	var cio *clientIO
	var src io.Reader = capped
	if a.opt.ioTimeout > 0 {
		cio = newClientIO(w, a.opt.ioTimeout, deadline)
		defer cio.done()
		w = cio
		if r.Body != nil && r.Body != http.NoBody {
			src = cio.reader(capped)
		}
	}
	// A small body is read before a slot is taken, so a slow client never
	// holds one. Expect: 100-continue bodies are left for the app to read:
	// net/http sends the 100 on its first read.
	var body []byte
	var stream io.Reader
	if r.ContentLength > 0 && r.ContentLength <= a.opt.maxPreread && !expectsContinue(r) {
		bp := prereadPool.Get().(*[]byte)
		defer prereadPool.Put(bp)
		if int64(cap(*bp)) < r.ContentLength {
			*bp = make([]byte, r.ContentLength)
		}
		body = (*bp)[:r.ContentLength]
		if cio != nil {
			cio.readWhole() // no slot is held yet, but the buffer is
		}
		if _, err := io.ReadFull(src, body); err != nil {
			a.log.Debug("reading request body", "method", r.Method, "uri", r.RequestURI, "err", err)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				http.Error(w, "Request Timeout: the body came too slowly", http.StatusRequestTimeout)
			} else {
				http.Error(w, "Bad Request: incomplete body", http.StatusBadRequest)
			}
			return
		}
		if cio != nil {
			cio.readPart()
		}
	} else if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		stream = src
	}
	if a.procs != nil {
		a.procs.dispatch(w, r, body, stream)
		return
	}

	s, status := a.acquire(r.Context(), deadline)
	if s == nil {
		if status != 0 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, http.StatusText(status), status)
		}
		return
	}
	defer func() { a.slots <- s }()
	abort := a.serve(s, deadline, w, r, body, stream)
	if abort {
		// Headers are out: the only honest end is a cut connection.
		panic(http.ErrAbortHandler)
	}
}

// serve runs the request on slot s and reports whether the connection
// must be aborted.
func (a *App) serve(s *slot, deadline time.Time, w http.ResponseWriter, r *http.Request, body []byte, stream io.Reader) bool {
	var flags environ.Flags
	var err error
	s.env, flags, err = a.buildEnv(s.env[:0], r)
	if err != nil {
		s.w.Reset(w, r)
		return !s.w.Error500()
	}
	return a.run(s, r.Context(), deadline, w, r, s.env, flags, body, stream)
}

// buildEnv appends r's packed environ, with the EnvironFunc's entries, to
// env. An entry the EnvironFunc may not set is logged and returned as an
// error: the request is to be answered 500.
func (a *App) buildEnv(env []byte, r *http.Request) ([]byte, environ.Flags, error) {
	env, flags := environ.Build(env, r, &a.envOpt)
	if a.opt.environ != nil {
		for k, v := range a.opt.environ(r) {
			if err := checkEnvironKey(k); err != nil {
				a.log.Error("WSGI environ refused", "method", r.Method, "uri", r.RequestURI, "err", err)
				return env, flags, err
			}
			env = environ.AppendVar(env, k, v)
		}
	}
	return env, flags, nil
}

// run runs on slot s the request whose packed environ is env, writing the
// response to w, and reports whether the connection must be aborted. r
// gives the method (HEAD's rules) and what the logs say. Past deadline
// (zero: none) or ctx's, the app is interrupted (interp.Call.Run).
func (a *App) run(s *slot, ctx context.Context, deadline time.Time, w http.ResponseWriter, r *http.Request, env []byte, flags environ.Flags, body []byte, stream io.Reader) bool {
	s.w.Reset(w, r)
	err := s.call.Run(ctx, deadline, env, flags, body, stream, &s.w)
	if be := (*interp.BodyError)(nil); err != nil && errors.As(err, &be) {
		err = a.badBody(s, be)
	}
	if err == nil {
		err = s.w.Finish()
		if errors.Is(err, response.ErrShortBody) {
			a.log.Error("WSGI response shorter than its Content-Length; connection closed",
				"method", r.Method, "uri", r.RequestURI)
		} else if err != nil {
			a.log.Debug("client gone", "method", r.Method, "uri", r.RequestURI, "err", err)
		}
		return err != nil
	}
	var ae *interp.AppError
	switch {
	case errors.As(err, &ae) && ae.Timeout:
		a.log.Warn("WSGI request timed out; interrupted", "method", r.Method, "uri", r.RequestURI,
			"sent", s.w.Sent(), "traceback", ae.Traceback)
		return !s.w.Error(http.StatusGatewayTimeout)
	case errors.As(err, &ae) && ae.Disconnected:
		a.log.Info("client gone; the app was interrupted with ClientDisconnected", "method", r.Method, "uri", r.RequestURI,
			"sent", s.w.Sent())
		return true
	case errors.As(err, &ae):
		a.log.Error("WSGI app error", "method", r.Method, "uri", r.RequestURI,
			"sent", s.w.Sent(), "traceback", ae.Traceback)
	case errors.Is(err, response.ErrClientGone):
		a.log.Debug("client gone", "method", r.Method, "uri", r.RequestURI, "err", err)
		return true
	default:
		a.log.Error("WSGI request failed", "method", r.Method, "uri", r.RequestURI, "err", err)
	}
	return !s.w.Error500()
}

// badBody answers a request whose app failed on a malformed request body
// (interp.BodyError) with bodyStatus, if nothing was sent yet, and returns
// nil; else the response is cut short as for a client gone, and the error
// says so.
func (a *App) badBody(s *slot, be *interp.BodyError) error {
	status := bodyStatus(be.Err)
	if !s.w.Error(status) {
		return fmt.Errorf("%w: %w", response.ErrClientGone, be.Err)
	}
	a.log.Info("bad request body; answered", "status", status, "err", be.Err, "traceback", be.Traceback)
	return nil
}

// bodyStatus is the status for a request whose body failed with err (an
// interp.ErrBadRequestBody): 413 for a body past its cap, 408 for one that
// came too slowly, else 400.
func bodyStatus(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return http.StatusRequestTimeout
	}
	return http.StatusBadRequest
}

// acquire takes a free slot, waiting at most the queue timeout, and not
// past deadline (zero: none). It returns nil and the status to answer (0:
// the client is gone) when it gets none.
func (a *App) acquire(ctx context.Context, deadline time.Time) (*slot, int) {
	var s *slot
	select {
	case s = <-a.slots:
	default:
		wait, status := a.opt.queueTimeout, http.StatusServiceUnavailable
		if !deadline.IsZero() {
			if left := time.Until(deadline); left < wait {
				wait, status = max(left, 0), http.StatusGatewayTimeout
			}
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		a.metrics.slotWaiting.Add(1)
		defer func(t0 time.Time) {
			a.metrics.slotWaiting.Add(-1)
			a.metrics.slotWaited.Add(int64(time.Since(t0)))
		}(time.Now())
		select {
		case s = <-a.slots:
		case <-t.C:
			if status == http.StatusServiceUnavailable {
				a.log.Warn("no free thread within the queue timeout; answered 503",
					"threads", a.opt.threads, "timeout", a.opt.queueTimeout)
			}
			return nil, status
		case <-ctx.Done():
			return nil, doneStatus(ctx)
		}
	}
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		a.slots <- s
		return nil, http.StatusServiceUnavailable
	}
	return s, 0
}

// doneStatus is what to answer a request whose context ended before it
// ran: 504 past its deadline, nothing (0) for a client gone.
func doneStatus(ctx context.Context) int {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return http.StatusGatewayTimeout
	}
	return 0
}

func expectsContinue(r *http.Request) bool {
	for _, v := range r.Header["Expect"] {
		if strings.EqualFold(strings.TrimSpace(v), "100-continue") {
			return true
		}
	}
	return false
}

// Close stops the app taking requests (new ones get 503), waits for those
// in Python to finish or ctx to end, and frees the app's Python objects.
// The interpreter keeps running for other Apps; see Shutdown.
func (a *App) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	a.closed = true
	a.mu.Unlock()
	if a.procs != nil {
		err := a.procs.close(ctx)
		appsMu.Lock()
		delete(apps, a)
		appsMu.Unlock()
		return err
	}
	// Every slot back in hand means no request is in Python.
	var held []*slot
	for len(held) < a.opt.threads {
		select {
		case s := <-a.slots:
			held = append(held, s)
		case <-ctx.Done():
			for _, s := range held {
				a.slots <- s
			}
			return fmt.Errorf("wsgi: closing %s: %d requests still running: %w", a.spec, a.opt.threads-len(held), ctx.Err())
		}
	}
	for _, s := range held {
		s.call.Free()
		a.slots <- s
	}
	a.py.Close()
	appsMu.Lock()
	delete(apps, a)
	appsMu.Unlock()
	return nil
}

// Reload imports the app anew without dropping a request: with
// WithProcesses, a new generation of workers is started, takes the new
// requests once all of them serve, and the old one finishes what it has
// and stops. If the new generation fails to load the app (an import
// error, say), Reload returns the error and the old one goes on serving.
// An app in this process cannot be reloaded (one interpreter per
// process, and Python cannot unimport): Reload then returns an error.
func (a *App) Reload(ctx context.Context) error {
	if a.procs == nil {
		return fmt.Errorf("wsgi: cannot reload %s: it runs in this process; reloading needs WithProcesses", a.spec)
	}
	return a.procs.reload(ctx)
}

// SetProcesses sets how many worker processes an app with WithProcesses
// runs (gunicorn's TTIN and TTOU): n > now starts new workers, which take
// requests once they are ready; n < now drains the last ones, which stop
// once their requests are done. n < 1 means 1.
func (a *App) SetProcesses(ctx context.Context, n int) error {
	if a.procs == nil {
		return fmt.Errorf("wsgi: %s runs in this process; worker processes need WithProcesses", a.spec)
	}
	return a.procs.resize(ctx, max(n, 1))
}

// Processes reports how many worker processes the app runs (0: it runs
// in this process).
func (a *App) Processes() int {
	if a.procs == nil {
		return 0
	}
	a.procs.reloadMu.Lock()
	defer a.procs.reloadMu.Unlock()
	return a.procs.n
}

// Shutdown closes every open App (as Close does) and then stops the Python
// interpreter: atexit handlers run and Python's non-daemon threads are
// joined. Python cannot be started again in this process. If ctx ends
// before the requests do, the interpreter is left running and the error
// says so.
func Shutdown(ctx context.Context) error {
	appsMu.Lock()
	open := make([]*App, 0, len(apps))
	for a := range apps {
		open = append(open, a)
	}
	appsMu.Unlock()
	var errs []error
	for _, a := range open {
		if err := a.Close(ctx); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	interp.Stop()
	return nil
}

// PythonVersion reports the version of the linked Python, like "3.11.2".
func PythonVersion() string { return interp.Version() }

// String names the app by its spec.
func (a *App) String() string { return "wsgi.App(" + strconv.Quote(a.spec) + ")" }
