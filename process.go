package wsgi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gowsgi/wsgi/internal/wire"
	"github.com/gowsgi/wsgi/interp"
)

// WithProcesses runs the app in n worker processes (n < 1 means 1), each
// with its own Python interpreter and GIL, instead of in this process: a
// Python app then uses n cores, and a crash in a C extension costs the
// requests in flight on one worker, never the Go program: each is answered
// 502 if nothing of it was sent (504 if it was already past its deadline),
// and its connection is cut otherwise. The App sends
// each request to the worker with the fewest in flight, replaces a worker
// that dies (with back-off: it never gives up on an app that loaded once),
// recycles workers (WithMaxRequests, WithMaxWorkerMemory) and reloads the
// app without dropping a request (App.Reload).
//
// A worker is the program's own executable started again: this package
// recognises a worker start in its init, before main runs, and serves the
// app there. The program needs no change for it, but its executable must
// still be there (os.Executable) when a worker starts. Workers die with
// the App's process (PR_SET_PDEATHSIG).
//
// The request's environ is built in the App's process, so WithEnviron,
// WithScriptName and the mount point work as in-process; the other options
// (WithThreads, WithPythonPath, WithVenv, ...) apply in each worker, and
// the workers' logs and wsgi.errors go to the App's logger, with the
// worker's "pid". With n > 1 the app sees wsgi.multiprocess True.
func WithProcesses(n int) Option {
	return func(o *options) { o.processes = max(n, 1) }
}

// WithMaxRequests recycles a worker process (WithProcesses) after it has
// served n requests, plus a random jitter up to WithMaxRequestsJitter, as
// gunicorn's --max-requests: a replacement is started first and takes new
// requests once it is ready, then the old one finishes what it has and
// stops. 0, the default, never recycles.
func WithMaxRequests(n int) Option {
	return func(o *options) { o.maxRequests = max(n, 0) }
}

// WithMaxRequestsJitter adds a random 0 to n requests to each worker's
// WithMaxRequests, so workers started together are not recycled together.
func WithMaxRequestsJitter(n int) Option {
	return func(o *options) { o.maxRequestsJitter = max(n, 0) }
}

// WithMaxWorkerMemory recycles a worker process (WithProcesses) whose
// resident memory exceeds bytes, as WithMaxRequests does; it is checked
// every second. 0, the default, never.
func WithMaxWorkerMemory(bytes int64) Option {
	return func(o *options) { o.maxWorkerMemory = max(bytes, 0) }
}

var envPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// dispatch serves a request through a worker process.
func (p *procs) dispatch(w http.ResponseWriter, r *http.Request, body []byte, stream io.Reader) {
	a := p.a
	bp := envPool.Get().(*[]byte)
	defer envPool.Put(bp)
	env, flags, err := a.buildEnv((*bp)[:0], r)
	*bp = env[:0]
	if err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	req := wire.Request{Flags: uint32(flags), Method: r.Method, URI: r.RequestURI, Env: env}
	if d, ok := r.Context().Deadline(); ok {
		req.Deadline = d.UnixNano()
	}
	switch {
	case body != nil && len(body)+len(env)+len(r.RequestURI)+64 <= wire.MaxPayload:
		req.Mode, req.Body = wire.InlineBody, body
	case body != nil:
		req.Mode, stream = wire.StreamBody, bytes.NewReader(body)
	case stream != nil:
		req.Mode = wire.StreamBody
	}
	for try := 0; ; try++ {
		wk, c, status := p.acquire(r.Context())
		if wk == nil {
			if status != 0 {
				w.Header().Set("Retry-After", "1")
				http.Error(w, http.StatusText(status), status)
			}
			return
		}
		c.AppendRequest(&req)
		if err := c.Flush(); err != nil {
			// Nothing reached the worker. It has most likely died, and
			// its other idle sockets with it: drop them, so that the
			// next try asks it for a socket through its control socket,
			// which fails for a dead worker and takes it out of service
			// (acquire) rather than failing once a socket.
			c.Close()
			wk.dropIdle()
			wk.release(nil)
			if try < 3 {
				continue
			}
			a.log.Error("gowsgi: cannot reach a worker process; answered 502", "err", err)
			http.Error(w, http.StatusText(http.StatusBadGateway), http.StatusBadGateway)
			return
		}
		rl := relay{p: p, wk: wk, c: c, w: w, r: r, stream: stream}
		abort := rl.run()
		if abort {
			panic(http.ErrAbortHandler)
		}
		return
	}
}

// relay replays on w the frames a worker sends for one request.
type relay struct {
	p      *procs
	wk     *worker
	c      *wire.Conn
	w      http.ResponseWriter
	r      *http.Request
	stream io.Reader
	buf    []byte      // for Read frames
	sent   bool        // the status line went out
	killed atomic.Bool // its worker was killed for running past the deadline
	busy   atomic.Bool // this side, not the worker, is at work: writing to the client, reading its body
	broken bool        // the client is gone: the rest is dropped
	late   pastDeadline
}

// run relays the response and reports whether the connection must be
// aborted. It gives the socket back (or closes it) and ends the request on
// its worker.
func (rl *relay) run() (abort bool) {
	// A client that goes away closes the socket, which ends the request
	// in the worker (and the Next below). At the request's deadline the
	// worker raises RequestTimeout in it and answers 504 itself; a request
	// still running HardTimeoutGrace later is stuck in C, and only killing
	// its worker ends it.
	//
	// A request still running stuckAfter past its deadline retires its
	// worker (see pastDeadline), so that the requests it runs beside the
	// stuck one may end within the grace period rather than die with it.
	ctx := rl.r.Context()
	late := &rl.late
	late.rl = rl
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			if rl.slowBody() {
				// Not a client gone: the worker answers 408. net/http
				// has ended the context, which will not end again at
				// the deadline, so the steps are timed from it here.
				if d, ok := ctx.Deadline(); ok {
					late.beginAfter(time.Until(d))
				}
				return
			}
			rl.c.Abort()
			return
		}
		late.begin()
	})
	reuse := false
	defer func() {
		late.end() // before the worker is released: no step after that
		if !stop() || !reuse {
			rl.c.Close()
			rl.wk.release(nil)
			return
		}
		rl.wk.release(rl.c)
	}()
	for {
		t, payload, err := rl.c.Next()
		if err != nil {
			return rl.lost(err)
		}
		switch t {
		case wire.Head:
			code, err := wire.ParseHead(payload, rl.w.Header())
			if err != nil {
				return rl.lost(err)
			}
			rl.sent = true
			rl.w.WriteHeader(code)
		case wire.Body:
			if !rl.broken {
				rl.busy.Store(true)
				_, err := rl.w.Write(payload)
				rl.busy.Store(false)
				if err != nil {
					return rl.gone()
				}
			}
		case wire.Flush:
			if !rl.broken {
				rl.busy.Store(true)
				err := http.NewResponseController(rl.w).Flush()
				rl.busy.Store(false)
				if err != nil && !errors.Is(err, http.ErrNotSupported) {
					return rl.gone()
				}
			}
		case wire.Read:
			n, err := wire.Uint(payload)
			if err != nil {
				return rl.lost(err)
			}
			rl.busy.Store(true)
			rl.read(int(min(n, wire.MaxPayload)))
			rl.busy.Store(false)
			if err := rl.c.Flush(); err != nil {
				return rl.lost(err)
			}
		case wire.File:
			limit, err := wire.Uint(payload)
			if err != nil {
				return rl.lost(err)
			}
			f, err := rl.c.TakeFile("wsgi.file_wrapper")
			if err != nil {
				return rl.lost(err)
			}
			rl.busy.Store(true)
			rl.sendFile(f, int64(limit))
			rl.busy.Store(false)
			f.Close()
			if err := rl.c.Flush(); err != nil {
				return rl.lost(err)
			}
		case wire.End:
			reuse = len(payload) == 1
			return len(payload) != 1 || payload[0] != 0
		default:
			return rl.lost(fmt.Errorf("%w: %v in a response", wire.ErrFrame, t))
		}
	}
}

// stuckAfter is how long past its deadline a request may run in a worker
// before the worker is retired: the exception raised at the deadline ends a
// request in Python within milliseconds, so one still running is stuck in
// C.
const stuckAfter = time.Second

// pastDeadline takes the steps for a request that runs in its worker past
// its deadline: stuckAfter past it, the worker is retired (procs.retire);
// HardTimeoutGrace past it, the worker is killed, and lost answers 504. A
// step falls due only while the worker has the request: while the relay
// itself writes to a slow client (a block, a wsgi.file_wrapper file) or
// reads the body for the worker, the worker waits on it, and the step
// waits too.
type pastDeadline struct {
	rl    *relay
	mu    sync.Mutex
	timer *time.Timer // the next step
	ended bool        // the request ended: no more steps
}

// begin is called at the deadline.
func (pd *pastDeadline) begin() { pd.beginAfter(0) }

// beginAfter is begin for a deadline d from now.
func (pd *pastDeadline) beginAfter(d time.Duration) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	pd.after(max(d, 0)+stuckAfter, pd.retire)
}

// end stops the steps; a step already running has finished when it
// returns.
func (pd *pastDeadline) end() {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	pd.ended = true
	if pd.timer != nil {
		pd.timer.Stop()
	}
}

// after arms step to run in d. pd.mu is held.
func (pd *pastDeadline) after(d time.Duration, step func()) {
	if pd.ended {
		return
	}
	pd.timer = time.AfterFunc(d, func() {
		pd.mu.Lock()
		defer pd.mu.Unlock()
		switch {
		case pd.ended:
		case pd.rl.busy.Load():
			pd.after(stuckAfter, step) // not stuck in the worker: look again later
		default:
			step()
		}
	})
}

// retire is the first step. pd.mu is held.
func (pd *pastDeadline) retire() {
	pd.rl.p.retire(pd.rl.wk)
	pd.after(HardTimeoutGrace-stuckAfter, pd.kill)
}

// kill is the last step. pd.mu is held.
func (pd *pastDeadline) kill() {
	pd.rl.killed.Store(true)
	pd.rl.wk.kill()
}

// read answers a Read frame: up to n bytes of the client's body.
func (rl *relay) read(n int) {
	if rl.stream == nil {
		rl.c.Frame(wire.EOF)
		return
	}
	if cap(rl.buf) < n {
		rl.buf = make([]byte, n)
	}
	var tooLarge *http.MaxBytesError
	for {
		m, err := rl.stream.Read(rl.buf[:n])
		if m > 0 {
			rl.c.Frame(wire.Data, rl.buf[:m])
			return
		}
		switch {
		case errors.Is(err, io.EOF):
			rl.c.Frame(wire.EOF)
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			rl.c.AppendError(wire.BodyErr, 0, wire.ErrTimeout, err.Error())
			return
		case errors.As(err, &tooLarge):
			rl.c.AppendError(wire.BodyErr, tooLarge.Limit, wire.ErrTooLarge, err.Error())
			return
		case err != nil && interp.MalformedBody(err):
			rl.c.AppendError(wire.BodyErr, 0, wire.ErrMalformed, err.Error())
			return
		case err != nil:
			rl.c.AppendError(wire.BodyErr, 0, wire.ErrGone, err.Error())
			return
		}
	}
}

// sendFile answers a File frame: it sends up to limit bytes of f from its
// offset (which the worker shares: one open file), with sendfile(2) when
// w allows.
func (rl *relay) sendFile(f *os.File, limit int64) {
	if rl.broken {
		rl.c.AppendError(wire.FileDone, 0, wire.ErrGone, "client gone")
		return
	}
	n, err := io.Copy(rl.w, &io.LimitedReader{R: f, N: limit})
	var pe *os.PathError
	switch {
	case err == nil:
		rl.c.AppendError(wire.FileDone, n, wire.ErrNone, "")
	case errors.As(err, &pe) && pe.Path == f.Name():
		rl.c.AppendError(wire.FileDone, n, wire.ErrFileRead, pe.Err.Error())
	default:
		rl.broken = true
		rl.c.AppendError(wire.FileDone, n, wire.ErrGone, err.Error())
	}
}

// gone handles a failed write to the client: the socket is closed, which
// ends the request in the worker, and the connection is cut.
func (rl *relay) gone() bool {
	rl.broken = true
	rl.c.Abort()
	return true
}

// slowBody reports whether the client's body came too slowly: net/http
// then ends the request's context as for a client gone, but the client is
// there, waiting for its answer.
func (rl *relay) slowBody() bool {
	ci, ok := rl.w.(*clientIO)
	return ok && ci.readExpired()
}

// lost handles a socket that failed before End: the worker died (or the
// client went away and closed it). A response not begun is answered 502,
// or 504 for a request already past its deadline.
func (rl *relay) lost(err error) bool {
	if rl.killed.Load() {
		rl.p.a.log.Error("gowsgi: request still running after its deadline and the grace period (stuck in C?); its worker process was killed",
			"pid", rl.wk.pid, "method", rl.r.Method, "uri", rl.r.RequestURI, "grace", HardTimeoutGrace, "sent", rl.sent)
		if rl.sent {
			return true
		}
		clear(rl.w.Header())
		http.Error(rl.w, http.StatusText(http.StatusGatewayTimeout), http.StatusGatewayTimeout)
		return false
	}
	ctx := rl.r.Context()
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !rl.slowBody() {
		return true // the client is gone
	}
	// A request already past its deadline would have been answered 504:
	// its worker died before it could say so (killed for another request
	// stuck in it, say). A worker that broke the protocol is a 502 still.
	d, ok := ctx.Deadline()
	late := ok && !time.Now().Before(d) && !errors.Is(err, wire.ErrFrame)
	rl.p.a.log.Error("gowsgi: worker process lost during a request", "pid", rl.wk.pid,
		"method", rl.r.Method, "uri", rl.r.RequestURI, "sent", rl.sent, "past_deadline", late, "err", err)
	if rl.sent {
		return true
	}
	status := http.StatusBadGateway
	if late {
		status = http.StatusGatewayTimeout
	}
	clear(rl.w.Header())
	http.Error(rl.w, http.StatusText(status), status)
	return false
}
