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
	"syscall"
	"time"

	"github.com/gowsgi/wsgi/environ"
	"github.com/gowsgi/wsgi/internal/wire"
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
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGTTIN, syscall.SIGTTOU)
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
		WithVenv(cfg.Venv), WithMultiprocess(cfg.Multiprocess),
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
	wp.send(wire.Ready, nil)
	for {
		t, _, err := ctl.Next()
		if err != nil {
			return 1 // the App is gone
		}
		switch t {
		case wire.Socket:
			f, err := ctl.TakeFile("gowsgi-request")
			if err != nil {
				return 1
			}
			c, err := wire.FileConn(f)
			f.Close()
			if err != nil {
				return 1
			}
			wc := &workerConn{app: app, c: c, done: make(chan struct{}, 1), replies: make(chan reply, 1)}
			go wc.serve()
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

// A workerConn serves the requests of one request socket, one at a time.
// Its reader goroutine (serve) reads every frame and starts a goroutine
// for each request (handle), which writes the response; the reader hands
// it the replies to what it asked (Read, File) through replies. When the
// socket closes (the client is gone, or the App gave up on the request),
// the reader cancels the request's context.
//
// A workerConn is an http.ResponseWriter for the request it runs: the
// App's response.Writer decides the response as in-process, and what it
// writes becomes frames.
type workerConn struct {
	app     *App
	c       *wire.Conn
	done    chan struct{} // a request ended: the reader may take the next
	replies chan reply

	// The request being run.
	ctx       context.Context
	env, body []byte // copies of the Req frame's: the reader reads on
	h         http.Header
	wrote     bool
	err       error // the socket's: the response is lost
}

type reply struct {
	t wire.Type
	p []byte // a copy
}

func (wc *workerConn) serve() {
	defer wc.c.Close()
	var cancel context.CancelFunc
	busy := false
	for {
		t, p, err := wc.c.Next()
		if err != nil {
			if cancel != nil {
				cancel()
			}
			return
		}
		switch t {
		case wire.Req:
			if busy {
				<-wc.done // it wrote End before the App sent this
			}
			req, err := wire.ParseRequest(p)
			if err != nil {
				wc.app.log.Error("gowsgi worker: bad request frame", "err", err)
				return
			}
			wc.env = append(wc.env[:0], req.Env...)
			wc.body = append(wc.body[:0], req.Body...)
			ctx := context.Background()
			if req.Deadline != 0 {
				ctx, cancel = context.WithDeadline(ctx, time.Unix(0, req.Deadline))
			} else {
				ctx, cancel = context.WithCancel(ctx)
			}
			busy = true
			go wc.handle(ctx, cancel, req)
		case wire.Data, wire.EOF, wire.BodyErr, wire.FileDone:
			select {
			case wc.replies <- reply{t, append([]byte(nil), p...)}:
			default:
				wc.app.log.Error("gowsgi worker: unasked-for frame", "type", t)
				return
			}
		default:
			wc.app.log.Error("gowsgi worker: unexpected frame", "type", t)
			return
		}
	}
}

// handle runs one request and ends it with an End frame.
func (wc *workerConn) handle(ctx context.Context, cancel context.CancelFunc, req *wire.Request) {
	defer func() { wc.done <- struct{}{} }()
	defer cancel()
	wc.ctx, wc.h, wc.wrote, wc.err = ctx, make(http.Header), false, nil
	r := &http.Request{Method: req.Method, RequestURI: req.URI}
	a := wc.app
	s, status := a.acquire(ctx)
	abort := false
	if s == nil {
		if status == 0 {
			return // the socket is gone
		}
		wc.h.Set("Retry-After", "1")
		http.Error(wc, http.StatusText(status), status)
	} else {
		var stream io.Reader
		var body []byte
		switch req.Mode {
		case wire.InlineBody:
			body = wc.body
		case wire.StreamBody:
			stream = &wireBody{wc: wc, ctx: ctx}
		}
		abort = a.run(s, ctx, wc, r, wc.env, environ.Flags(req.Flags), body, stream)
		a.slots <- s
	}
	if wc.err != nil {
		return
	}
	end := byte(0)
	if abort {
		end = 1
	}
	wc.c.Frame(wire.End, []byte{end})
	if err := wc.c.Flush(); err != nil {
		wc.err = err
	}
}

// ask sends a frame of type t with payload v and waits for its reply.
func (wc *workerConn) ask(ctx context.Context, t wire.Type, v uint64, fd *os.File) (reply, error) {
	if wc.err != nil {
		return reply{}, wc.err
	}
	wc.c.AppendUint(t, v)
	var err error
	if fd != nil {
		err = wc.c.FlushFile(fd)
	} else {
		err = wc.c.Flush()
	}
	if err != nil {
		wc.err = err
		return reply{}, err
	}
	select {
	case r := <-wc.replies:
		return r, nil
	case <-ctx.Done():
		wc.err = fmt.Errorf("gowsgi worker: request ended: %w", ctx.Err())
		return reply{}, wc.err
	}
}

// Header, WriteHeader, Write, FlushError and ReadFrom make a workerConn
// the http.ResponseWriter of its request.

func (wc *workerConn) Header() http.Header { return wc.h }

func (wc *workerConn) WriteHeader(code int) {
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
	wc.WriteHeader(http.StatusOK)
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
				wc.err = err
				return 0, err
			}
		}
	}
	return n, nil
}

func (wc *workerConn) FlushError() error {
	wc.WriteHeader(http.StatusOK)
	if wc.err != nil {
		return wc.err
	}
	wc.c.Frame(wire.Flush)
	if err := wc.c.Flush(); err != nil {
		wc.err = err
	}
	return wc.err
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
	r, err := wc.ask(wc.ctx, wire.File, uint64(lr.N), f)
	if err != nil {
		return 0, err
	}
	n, kind, msg, err := wire.ParseError(r.p)
	if err != nil || r.t != wire.FileDone {
		wc.err = fmt.Errorf("gowsgi worker: bad reply to File: %v %v", r.t, err)
		return 0, wc.err
	}
	lr.N -= n
	switch kind {
	case wire.ErrNone:
		return n, nil
	case wire.ErrFileRead:
		return n, &os.PathError{Op: "read", Path: f.Name(), Err: errors.New(msg)}
	}
	wc.err = errors.New(msg)
	return n, wc.err
}

// wireBody is the request body of a StreamBody request: each Read asks
// the App for the next bytes.
type wireBody struct {
	wc  *workerConn
	ctx context.Context
	eof bool
}

func (b *wireBody) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	r, err := b.wc.ask(b.ctx, wire.Read, uint64(min(len(p), wire.MaxPayload)), nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", io.ErrUnexpectedEOF, err)
	}
	switch r.t {
	case wire.Data:
		return copy(p, r.p), nil
	case wire.EOF:
		b.eof = true
		return 0, io.EOF
	case wire.BodyErr:
		_, kind, msg, _ := wire.ParseError(r.p)
		if kind == wire.ErrMalformed {
			return 0, errors.New(msg) // interp answers 400 for these
		}
		return 0, fmt.Errorf("%w: %s", io.ErrUnexpectedEOF, msg)
	}
	return 0, fmt.Errorf("%w: bad reply to Read: %v", io.ErrUnexpectedEOF, r.t)
}
