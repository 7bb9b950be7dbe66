package wsgi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gowsgi/wsgi/environ"
	"github.com/gowsgi/wsgi/internal/wire"
	"github.com/gowsgi/wsgi/interp"
)

// A worker process (WithProcesses) is the program's own executable, started
// again with workerEnv set. This package's init recognises it before the
// program's main, or any init of a package that imports this one, runs:
// it serves the app until the App that started it says stop, and exits.
// The program itself never runs a second time.

// workerEnv marks a worker process; its value is the worker's
// configuration (workerConfig, as JSON). The control socket is
// descriptor 3.
const workerEnv = "GOWSGI_WORKER"

// workerConfig is what a worker needs of its App's options.
type workerConfig struct {
	Spec         string
	Parent       int // the App's process id: a worker of another parent exits
	Threads      int
	Fixed        bool
	QueueTimeout time.Duration
	PythonPath   []string
	Venv         string
	Multiprocess bool
	LogLevel     slog.Level // the least the App's logger takes

	InterruptOnDisconnect bool
}

// workerGate is a worker's answer to a Gate frame: what the App's metrics
// report of an app in its own process.
type workerGate struct {
	interp.GateState
	ThreadStates int
}

func init() {
	if v, ok := os.LookupEnv(workerEnv); ok {
		os.Unsetenv(workerEnv) // not for the app's own subprocesses
		os.Exit(runWorker(v))
	}
}

// runWorker serves as a worker process and returns its exit status.
func runWorker(config string) int {
	var cfg workerConfig
	if err := json.Unmarshal([]byte(config), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "gowsgi worker: bad %s: %v\n", workerEnv, err)
		return 2
	}
	// The App set PR_SET_PDEATHSIG for this process before it ran; if the
	// App died before that, the parent is already another process.
	if os.Getppid() != cfg.Parent {
		fmt.Fprintf(os.Stderr, "gowsgi worker: the App's process (%d) is gone\n", cfg.Parent)
		return 2
	}
	// The App decides when a worker ends (Stop, or its death with
	// PR_SET_PDEATHSIG): a Ctrl-C on the terminal or systemd's SIGTERM to
	// the whole unit reaches the worker too, and must not cut its requests
	// while the App drains them.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGUSR1)
	f3 := os.NewFile(3, "gowsgi-control")
	ctl, err := wire.FileConn(f3) // a close-on-exec copy
	f3.Close()                    // or the app's own children would inherit it
	if err != nil {
		fmt.Fprintf(os.Stderr, "gowsgi worker: control socket: %v\n", err)
		return 2
	}
	wp := &workerProc{ctl: ctl}
	opts := []Option{
		WithThreads(cfg.Threads), WithQueueTimeout(cfg.QueueTimeout), WithPythonPath(cfg.PythonPath...),
		WithVenv(cfg.Venv), WithMultiprocess(cfg.Multiprocess), WithInterruptOnDisconnect(cfg.InterruptOnDisconnect),
		WithLogger(slog.New(&wireLogHandler{w: wp, level: cfg.LogLevel})),
	}
	if cfg.Fixed {
		opts = append(opts, WithFixedThreads(cfg.Threads))
	}
	app, err := New(cfg.Spec, opts...)
	if err != nil {
		wp.send(wire.LoadError, []byte(err.Error()))
		return 3
	}
	go watch.run()
	wp.send(wire.Ready, nil)
	for {
		t, _, err := ctl.Next()
		if err != nil {
			return 1 // the App is gone
		}
		switch t {
		case wire.Socket:
			c, err := requestConn(ctl)
			if err != nil {
				return 1
			}
			go newWorkerConn(app, c).serve()
		case wire.Stacks:
			go func() {
				text, err := interp.Stacks()
				if err != nil {
					text = "gowsgi worker: " + err.Error()
				}
				if len(text) > wire.MaxPayload {
					text = text[:wire.MaxPayload]
				}
				wp.send(wire.StackDump, []byte(text))
			}()
		case wire.Gate:
			st := workerGate{GateState: interp.Gate(), ThreadStates: interp.ThreadStates()}
			b, _ := json.Marshal(st)
			wp.send(wire.GateState, b)
		case wire.Stop:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := Shutdown(ctx)
			cancel()
			if err != nil {
				return 1
			}
			return 0
		}
	}
}

// workerProc is a worker's side of its control socket.
type workerProc struct {
	mu  sync.Mutex // writes to ctl
	ctl *wire.Conn
}

func (wp *workerProc) send(t wire.Type, p []byte) {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	wp.ctl.Frame(t, p)
	wp.ctl.Flush()
}

// wireLogHandler sends a worker's log records to its App, which logs them
// with its own logger (logRecord).
type wireLogHandler struct {
	w     *workerProc
	level slog.Level
	attrs []any // from WithAttrs, as key, value pairs
	group string
}

// logRecord is a Log frame's payload, as JSON.
type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs []string // key, value, key, value...
}

func (h *wireLogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *wireLogHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{Level: r.Level, Msg: r.Message}
	add := func(a slog.Attr) bool {
		k := a.Key
		if h.group != "" {
			k = h.group + "." + k
		}
		rec.Attrs = append(rec.Attrs, k, a.Value.Resolve().String())
		return true
	}
	for i := 0; i+1 < len(h.attrs); i += 2 {
		add(slog.Any(h.attrs[i].(string), h.attrs[i+1]))
	}
	r.Attrs(add)
	p, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	h.w.send(wire.Log, p)
	return nil
}

func (h *wireLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append([]any(nil), h.attrs...)
	for _, a := range as {
		h2.attrs = append(h2.attrs, a.Key, a.Value)
	}
	return &h2
}

func (h *wireLogHandler) WithGroup(name string) slog.Handler {
	h2 := *h
	if h2.group != "" {
		name = h2.group + "." + name
	}
	h2.group = name
	return &h2
}

// A workerConn serves the requests of one request socket, one at a time,
// on one goroutine (serve): it reads a Req frame, runs the request there,
// writes the response's frames and its End, and reads the next. What a
// request asks of the App (Read, File) it writes and reads the reply to
// itself. Nothing hands a request to another goroutine: a request costs
// the worker one wake-up, its socket's.
//
// The socket closes when the client is gone or the App gave up on the
// request: a write or a read of the request's then fails, and the
// watchdog (watchConns) cancels the context of a request that has run a
// while without touching its socket. The context is the workerConn's, for
// all its requests (the socket's end is theirs), or one with the
// request's deadline on it.
//
// A workerConn is an http.ResponseWriter for the request it runs: the
// App's response.Writer decides the response as in-process, and what it
// writes becomes frames.
type workerConn struct {
	app    *App
	c      *wire.Conn
	fd     int // c's, for the watchdog's poll
	ctx    context.Context
	cancel context.CancelFunc
	busy   atomic.Int64 // when the running request began (Unix ns), 0 between requests

	req   wire.Request
	r     http.Request // the running request's, for its method and logs
	h     http.Header  // cleared for each request
	spare []byte       // a read buffer for Detach

	// The request being run.
	deadline time.Time // its deadline, or zero
	detached bool      // its Req frame was kept from being overwritten

	wmu   sync.Mutex // writes: the stream's writer goroutine writes beside an app reading wsgi.input
	wrote bool
	err   error // the socket's: the response is lost
}

func newWorkerConn(app *App, c *wire.Conn) *workerConn {
	wc := &workerConn{app: app, c: c, fd: -1, h: make(http.Header)}
	wc.ctx, wc.cancel = context.WithCancel(context.Background())
	if fd := c.Fd(); fd >= 0 {
		wc.fd = fd
	} else if sc, err := c.UnixConn().SyscallConn(); err == nil {
		sc.Control(func(fd uintptr) { wc.fd = int(fd) })
	}
	return wc
}

// requestConn takes the request socket that came with a Socket frame.
func requestConn(ctl *wire.Conn) (*wire.Conn, error) {
	fd, err := ctl.TakeFD()
	if err != nil {
		return nil, err
	}
	return wire.BlockingConn(fd)
}

// How a request socket waits for its next request. A worker that serves
// one request at a time, on one socket, is woken fastest by a read that
// blocks its thread (wire.BlockingConn); many sockets waiting at once are
// served best by the runtime's poller, which takes what arrived on all of
// them in one epoll_pwait and keeps two threads busy instead of many
// waking. So one socket at most, and only while requests have kept coming
// on that socket alone for quietFor, waits blocked; the others wait in
// the poller.
var (
	soloConn atomic.Pointer[workerConn] // the socket that may block
	lastConn atomic.Pointer[workerConn] // the last to begin a request
	mixedAt  atomic.Int64               // when one began on another socket than the last (Unix ns)
)

const quietFor = 10 * time.Millisecond

// waitMode sets how wc waits for its next request.
func (wc *workerConn) waitMode() {
	solo := soloConn.Load() == wc
	quiet := time.Now().UnixNano()-mixedAt.Load() > int64(quietFor)
	switch {
	case quiet && !solo:
		solo = soloConn.CompareAndSwap(nil, wc)
	case !quiet && solo:
		soloConn.CompareAndSwap(wc, nil)
		solo = false
	}
	if err := wc.c.SetPolled(!solo); err != nil {
		wc.app.log.Debug("gowsgi worker: request socket", "err", err)
	}
}

func (wc *workerConn) serve() {
	watch.add(wc)
	defer func() {
		watch.remove(wc)
		soloConn.CompareAndSwap(wc, nil)
		wc.cancel()
		wc.c.Close()
	}()
	for {
		wc.waitMode()
		t, p, err := wc.c.Next()
		if err != nil {
			return
		}
		if t != wire.Req {
			wc.app.log.Error("gowsgi worker: unexpected frame", "type", t)
			return
		}
		if err := wc.req.Parse(p); err != nil {
			wc.app.log.Error("gowsgi worker: bad request frame", "err", err)
			return
		}
		if !wc.handle() {
			return
		}
	}
}

// handle runs the request in wc.req, whose Env and Body alias the socket's
// read buffer, and ends it with an End frame. It reports whether the socket
// may take another.
func (wc *workerConn) handle() bool {
	req := &wc.req
	ctx := wc.ctx
	wc.deadline = time.Time{}
	if req.Deadline != 0 {
		wc.deadline = time.Unix(0, req.Deadline)
	}
	wc.detached = false
	clear(wc.h)
	wc.wrote, wc.err = false, nil
	wc.r = http.Request{Method: req.Method, RequestURI: req.URI}
	now := time.Now().UnixNano()
	wc.busy.Store(now)
	watch.poke()
	if lastConn.Swap(wc) != wc {
		mixedAt.Store(now)
	}
	defer wc.busy.Store(0)

	a := wc.app
	s, status := a.acquire(ctx, wc.deadline)
	abort := false
	if s == nil {
		if status == 0 {
			return false // the socket is gone, or the deadline passed
		}
		wc.h.Set("Retry-After", "1")
		http.Error(wc, http.StatusText(status), status)
	} else {
		var stream io.Reader
		var body []byte
		switch req.Mode {
		case wire.InlineBody:
			body = req.Body
		case wire.StreamBody:
			stream = &wireBody{wc: wc}
		}
		abort = a.run(s, ctx, wc.deadline, wc, &wc.r, req.Env, environ.Flags(req.Flags), body, stream)
		a.slots <- s
	}
	wc.wmu.Lock()
	defer wc.wmu.Unlock()
	if wc.err != nil {
		return false
	}
	end := byte(0)
	if abort {
		end = 1
	}
	wc.c.Frame(wire.End, []byte{end})
	if err := wc.c.Flush(); err != nil {
		wc.err = err
		return false
	}
	return true
}

// fail records err, the socket's, for the request: the response is lost.
// wc.wmu is held.
func (wc *workerConn) fail(err error) error {
	if wc.err == nil {
		wc.err = err
		wc.cancel() // the socket is done with, for this request and the next
	}
	return wc.err
}

// ask sends a frame of type t with payload v (and the descriptor of fd)
// and reads the App's reply, which stays valid until the next ask.
func (wc *workerConn) ask(t wire.Type, v uint64, fd *os.File) (wire.Type, []byte, error) {
	wc.wmu.Lock()
	if wc.err != nil {
		wc.wmu.Unlock()
		return 0, nil, wc.err
	}
	wc.c.AppendUint(t, v)
	var err error
	if fd != nil {
		err = wc.c.FlushFile(fd)
	} else {
		err = wc.c.Flush()
	}
	if err != nil {
		err = wc.fail(err)
		wc.wmu.Unlock()
		return 0, nil, err
	}
	wc.wmu.Unlock()
	if !wc.detached {
		// The reply must not overwrite the Req frame: the request's
		// environ and body lie there.
		wc.spare = wc.c.Detach(wc.spare)
		wc.detached = true
	}
	if d := wc.deadline; !d.IsZero() {
		wc.c.SetReadDeadline(d)
		defer wc.c.SetReadDeadline(time.Time{})
	}
	rt, p, err := wc.c.Next()
	if err == nil && rt != wire.Data && rt != wire.EOF && rt != wire.BodyErr && rt != wire.FileDone {
		err = fmt.Errorf("%w: %v in reply to %v", wire.ErrFrame, rt, t)
	}
	if err != nil {
		wc.wmu.Lock()
		err = wc.fail(fmt.Errorf("gowsgi worker: request ended: %w", err))
		wc.wmu.Unlock()
		return 0, nil, err
	}
	return rt, p, nil
}

// Header, WriteHeader, Write, FlushError and ReadFrom make a workerConn
// the http.ResponseWriter of its request.

func (wc *workerConn) Header() http.Header { return wc.h }

func (wc *workerConn) WriteHeader(code int) {
	wc.wmu.Lock()
	wc.writeHeader(code)
	wc.wmu.Unlock()
}

func (wc *workerConn) writeHeader(code int) {
	if wc.wrote {
		return
	}
	wc.wrote = true
	wc.c.AppendHead(code, wc.h)
}

// sendAt is how much of a response a workerConn buffers before it writes
// to the socket, flushed or not.
const sendAt = 64 << 10

func (wc *workerConn) Write(p []byte) (int, error) {
	wc.wmu.Lock()
	defer wc.wmu.Unlock()
	wc.writeHeader(http.StatusOK)
	if wc.err != nil {
		return 0, wc.err
	}
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), wire.MaxPayload)
		wc.c.Frame(wire.Body, p[:k])
		p = p[k:]
		if wc.c.Buffered() >= sendAt {
			if err := wc.c.Flush(); err != nil {
				return 0, wc.fail(err)
			}
		}
	}
	return n, nil
}

func (wc *workerConn) FlushError() error {
	wc.wmu.Lock()
	defer wc.wmu.Unlock()
	wc.writeHeader(http.StatusOK)
	if wc.err != nil {
		return wc.err
	}
	wc.c.Frame(wire.Flush)
	if err := wc.c.Flush(); err != nil {
		return wc.fail(err)
	}
	return nil
}

// ReadFrom sends a file (a wsgi.file_wrapper's: response.Writer.SendFile
// gives an *io.LimitedReader around an *os.File) by passing its
// descriptor: the App sends it from there, with sendfile(2). Anything
// else is copied.
func (wc *workerConn) ReadFrom(src io.Reader) (int64, error) {
	lr, ok := src.(*io.LimitedReader)
	var f *os.File
	if ok {
		f, ok = lr.R.(*os.File)
	}
	if !ok {
		return io.Copy(struct{ io.Writer }{wc}, src)
	}
	wc.WriteHeader(http.StatusOK)
	t, p, err := wc.ask(wire.File, uint64(lr.N), f)
	if err != nil {
		return 0, err
	}
	n, kind, msg, err := wire.ParseError(p)
	if err != nil || t != wire.FileDone {
		wc.wmu.Lock()
		err = wc.fail(fmt.Errorf("gowsgi worker: bad reply to File: %v %v", t, err))
		wc.wmu.Unlock()
		return 0, err
	}
	lr.N -= n
	switch kind {
	case wire.ErrNone:
		return n, nil
	case wire.ErrFileRead:
		return n, &os.PathError{Op: "read", Path: f.Name(), Err: errors.New(msg)}
	}
	wc.wmu.Lock()
	err = wc.fail(errors.New(msg))
	wc.wmu.Unlock()
	return n, err
}

// wireBody is the request body of a StreamBody request: each Read asks
// the App for the next bytes.
type wireBody struct {
	wc  *workerConn
	eof bool
}

func (b *wireBody) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	t, r, err := b.wc.ask(wire.Read, uint64(min(len(p), wire.MaxPayload)), nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", io.ErrUnexpectedEOF, err)
	}
	switch t {
	case wire.Data:
		return copy(p, r), nil
	case wire.EOF:
		b.eof = true
		return 0, io.EOF
	case wire.BodyErr:
		n, kind, msg, _ := wire.ParseError(r)
		switch kind {
		case wire.ErrMalformed:
			return 0, errors.New(msg) // interp answers 400 for these
		case wire.ErrTooLarge:
			return 0, &http.MaxBytesError{Limit: int64(n)} // and 413 for these
		case wire.ErrTimeout:
			return 0, fmt.Errorf("%s: %w", msg, os.ErrDeadlineExceeded) // and 408
		}
		return 0, fmt.Errorf("%w: %s", io.ErrUnexpectedEOF, msg)
	}
	return 0, fmt.Errorf("%w: bad reply to Read: %v", io.ErrUnexpectedEOF, t)
}

// watch is a worker's watchdog: it cancels the context of a request whose
// socket the App closed (its client is gone, or the App gave up on it)
// while the request runs without writing or reading it, such as one
// waiting for a thread. A request that has run for watchEvery is looked
// at, every watchEvery, with one poll(2) of all such sockets; a request
// shorter than that costs the watchdog nothing but a clock read. The
// watchdog sleeps once it has seen no request for watchIdle.
var watch = watchdog{wake: make(chan struct{}, 1)}

const (
	watchEvery = 20 * time.Millisecond
	watchIdle  = time.Second
)

type watchdog struct {
	mu     sync.Mutex // conns, and their sockets while they are polled
	conns  []*workerConn
	parked atomic.Bool
	wake   chan struct{}
	fds    []pollFd
	hit    []*workerConn
}

// pollFd is struct pollfd.
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

const (
	pollErr   = 0x8
	pollHup   = 0x10
	pollRdHup = 0x2000
)

// add and remove register a workerConn for its life; its socket is
// closed only once it is removed.
func (wd *watchdog) add(wc *workerConn) {
	wd.mu.Lock()
	wd.conns = append(wd.conns, wc)
	wd.mu.Unlock()
}

func (wd *watchdog) remove(wc *workerConn) {
	wd.mu.Lock()
	for i, c := range wd.conns {
		if c == wc {
			last := len(wd.conns) - 1
			wd.conns[i], wd.conns[last] = wd.conns[last], nil
			wd.conns = wd.conns[:last]
			break
		}
	}
	wd.mu.Unlock()
}

// poke wakes the watchdog if it sleeps: a request began.
func (wd *watchdog) poke() {
	if wd.parked.Load() {
		select {
		case wd.wake <- struct{}{}:
		default:
		}
	}
}

func (wd *watchdog) run() {
	t := time.NewTicker(watchEvery)
	idle := time.Duration(0)
	for range t.C {
		if wd.check() {
			idle = 0
			continue
		}
		if idle += watchEvery; idle < watchIdle {
			continue
		}
		t.Stop()
		select {
		case <-wd.wake: // a stale poke
		default:
		}
		wd.parked.Store(true)
		if !wd.busy() {
			<-wd.wake
		}
		wd.parked.Store(false)
		idle = 0
		t.Reset(watchEvery)
	}
}

// busy reports whether a request is running.
func (wd *watchdog) busy() bool {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	for _, wc := range wd.conns {
		if wc.busy.Load() != 0 {
			return true
		}
	}
	return false
}

// check polls the sockets of the requests that have run for watchEvery
// and cancels those whose socket the App closed. It reports whether any
// request runs.
func (wd *watchdog) check() bool {
	wd.mu.Lock()
	defer wd.mu.Unlock()
	before := time.Now().Add(-watchEvery).UnixNano()
	running := false
	wd.fds, wd.hit = wd.fds[:0], wd.hit[:0]
	for _, wc := range wd.conns {
		since := wc.busy.Load()
		if since == 0 {
			continue
		}
		running = true
		if since <= before && wc.fd >= 0 && wc.ctx.Err() == nil {
			wd.fds = append(wd.fds, pollFd{fd: int32(wc.fd), events: pollRdHup})
			wd.hit = append(wd.hit, wc)
		}
	}
	if len(wd.fds) == 0 {
		return running
	}
	var ts syscall.Timespec // 0: do not wait
	_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&wd.fds[0])), uintptr(len(wd.fds)),
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	if errno != 0 {
		return running
	}
	for i, f := range wd.fds {
		if f.revents&(pollRdHup|pollHup|pollErr) != 0 {
			wd.hit[i].cancel()
		}
		wd.hit[i] = nil
	}
	return running
}
