package interp

/*
#include <stdlib.h>
#include "gowsgi.h"
*/
import "C"

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/cgo"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/gowsgi/wsgi/environ"
	"github.com/gowsgi/wsgi/response"
)

// outSize is the size of a Call's buffer: the response status and headers,
// and small bodies, come back from Python in it without a further copy.
const outSize = 32 << 10

// Call runs requests through an App, one at a time. It holds the buffers a
// request needs, so a server keeps one Call per concurrent request slot.
// Run keeps the app call, its iterable and close() on one OS thread, so
// they all see one Python thread.
type Call struct {
	app    *App
	handle cgo.Handle // to this Call, for the C side's callbacks
	out    []byte
	res    *C.gw_result // C memory: gw_interrupt reads it from another goroutine
	hdrs   []response.Header

	// The request being run.
	ctx    context.Context
	w      *response.Writer
	stream io.Reader
	cbErr  error   // what went wrong in a callback
	s      *stream // the writer sending later blocks, once there is one (see stream.go)

	panicked any // a panic caught in a callback (see callbacks.go), raised again by Run

	seq       int64   // the request's number, for gw_interrupt
	wait      *waiter // this Call's place in the gate's queue (see gate.go)
	admitted  bool    // the gate has admitted the running request into C
	callbacks int64   // callbacks into Go during the request, for the gate's convoy count

	// The request's deadline, while it is armed (see deadline.go).
	expired       chan struct{} // closed by the watcher once the deadline passed
	expiredClosed bool          // expired is closed: the next Run makes a new one
	dlAt          time.Time     // the deadline
	dlSeq         int64         // the request it is for
	dlDone        bool          // the watcher raised RequestTimeout, or had nothing to raise it in
	dlNext        *Call         // the armed Calls, under deadlines.mu
	dlPrev        *Call
	dlFire        sync.Mutex // held by the watcher while it expires this Call
}

// NewCall returns a Call for a.
func (a *App) NewCall() *Call {
	c := &Call{app: a, out: make([]byte, outSize), wait: newWaiter(), expired: make(chan struct{})}
	// Owned by the Call, freed by Free.
	c.res = (*C.gw_result)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gw_result{}))))
	c.handle = cgo.NewHandle(c)
	return c
}

// Free releases the Call's handle and the last block it may still hold
// for the writer. It must not be used afterwards.
func (c *Call) Free() {
	C.gw_drop_hold(c.res)
	c.handle.Delete()
	C.free(unsafe.Pointer(c.res)) // Run disarmed its deadline and waited for its interrupt callback
	c.res = nil
}

// AppError is an exception raised by the app (or a response it gave that
// breaks PEP 3333), with Python's traceback.
type AppError struct {
	Traceback string
	// Timeout: the request ran past its context's deadline and the
	// exception is the RequestTimeout raised in it (see Run).
	Timeout bool
	// Disconnected: the client went away and the exception is the
	// ClientDisconnected raised in it (AppOptions.InterruptOnDisconnect).
	Disconnected bool
}

func (e *AppError) Error() string { return "WSGI app failed:\n" + e.Traceback }

// Run runs one request: env is the packed environ (environ.Build), body
// the whole request body when it was read in advance, else stream is read
// as the app asks (stream may be nil for no body). The response goes to w.
// The error is an *AppError for a failing app, a *BodyError for one that
// failed on its request body, or wraps response.ErrClientGone; close() has
// been called on the app's iterable in every case. Run writes no error
// response itself: what to answer is the caller's decision.
//
// The request's deadline is the earlier of deadline (zero: none) and
// ctx's own. Past it, RequestTimeout is raised in the request's Python
// thread (see deadline.go) and Run returns an *AppError with Timeout set.
// A deadline given here costs no timer; one on ctx costs ctx its own.
func (c *Call) Run(ctx context.Context, deadline time.Time, env []byte, flags environ.Flags, body []byte, stream io.Reader, w *response.Writer) error {
	c.ctx, c.w, c.stream, c.cbErr, c.panicked = ctx, w, stream, nil, nil
	defer func() { c.ctx, c.w, c.stream = nil, nil, nil }()

	var bodyPtr *C.char
	if len(body) > 0 {
		bodyPtr = (*C.char)(unsafe.Pointer(&body[0]))
	}
	isStream := C.int(0)
	if body == nil && stream != nil {
		isStream = 1
	}
	// The app call, every block and close() run in this one call into C,
	// so on one OS thread and one Python thread (Django's connections and
	// threading.local are per thread): blocks come to gowsgiBlock, a
	// callback on this goroutine, and the goroutine is never pinned to its
	// thread between calls.
	measure := entry.enter(c.wait, c.app.fixed)
	c.admitted = true
	c.seq++
	if c.expiredClosed {
		// The last request's deadline passed: this one, with a deadline
		// or without, must not see it.
		c.expired = make(chan struct{})
		c.expiredClosed = false
	}
	c.res.ring.on = 0 // no stream yet, whatever way the last Run ended
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	if !deadline.IsZero() {
		deadlines.arm(c, deadline)
	}
	if c.app.interruptGone && ctx.Done() != nil {
		defer c.interruptWhenGone(ctx)()
	}
	C.gw_run(c.app.obj, c.app.tmpl, (*C.char)(unsafe.Pointer(unsafe.SliceData(env))), C.Py_ssize_t(len(env)),
		C.int(flags), bodyPtr, C.Py_ssize_t(len(body)), isStream,
		C.uintptr_t(c.handle), (*C.char)(unsafe.Pointer(&c.out[0])), C.Py_ssize_t(len(c.out)), cbool(measure),
		C.longlong(c.seq), c.res)
	if !deadline.IsZero() {
		deadlines.disarm(c)
	}
	woke := c.leave()
	if measure {
		entry.measured(int64(c.res.cpu_ns), int64(c.res.wall_ns), int64(c.res.wait_ns))
	}
	// Once a request, not once a block: a counter every request writes
	// for every block would be a cache line all the streams fight over.
	c.callbacks += int64(c.res.yields)
	if c.callbacks > 0 {
		entry.callbacks.Add(c.callbacks)
		c.callbacks = 0
	}
	var werr error // the stream writer's
	if c.s != nil {
		// The response is complete once the writer has sent what the
		// app produced; a panic in it ends the request as one in a
		// callback does.
		// A request interrupted at its deadline cannot complete: what
		// is queued for a slow client is not waited for.
		if c.expiredClosed && c.res.kind != C.GW_DONE {
			c.w.Abandon()
		}
		var p any
		werr, p = c.s.stop()
		c.s = nil
		if p != nil && c.panicked == nil {
			c.panicked = p
		}
	}
	if p := c.panicked; p != nil {
		// The request has ended in C (close() was called): now the
		// panic may go on up the Go stack.
		c.panicked = nil
		if c.res.err != nil {
			c.app.log.Error("WSGI request ended by a panic in Go", "panic", p,
				"traceback", c.takeErr())
		}
		panic(p)
	}
	switch c.res.kind {
	case C.GW_FAIL:
		// Nothing of a failed call goes out: a list body with a bad item
		// leaves the items before it in out, and they must not start a
		// response that should be a clean 500.
		return c.failure()
	case C.GW_STOP:
		if c.res.err != nil {
			c.logClose(c.takeErr())
		}
		if errors.Is(c.cbErr, errDeadline) {
			return &AppError{Traceback: "gowsgi: " + strings.TrimPrefix(errDeadline.Error(), response.ErrClientGone.Error()+": "), Timeout: true}
		}
		return c.cbErr
	}
	// GW_DONE: what is left in out (and a last block in hold) goes out.
	if c.res.err != nil {
		c.logClose(c.takeErr())
	}
	if werr != nil {
		return werr // wraps response.ErrClientGone
	}
	if woke {
		handOver()
	}
	return c.deliver()
}

// block sends what the C side produced in the middle of a request: a block
// or the file of a wsgi.file_wrapper. The first block, with the headers,
// is written and flushed here, before the next is asked for; later blocks
// go to the stream's writer, which transmits them while the app produces
// the next (see stream.go). A request stays admitted while it sends its
// first block and asks for the next: the common response of one block in
// an iterator (Flask, Django) then passes the gate once, and its
// StopIteration and close() do not queue behind other requests. Later
// blocks leave the gate first, so a long stream never holds a place in it.
func (c *Call) block() error {
	if c.res.kind == C.GW_FILE || c.res.hdr_len == 0 || c.res.ext_len > 0 {
		c.leave()
	}
	if c.res.kind == C.GW_MORE && c.res.hdr_len == 0 {
		return c.queue()
	}
	err := c.deliver()
	if err != nil {
		return err
	}
	if c.res.kind == C.GW_FILE {
		return c.sendFile()
	}
	if err := c.w.Flush(); err != nil {
		return err // wraps response.ErrClientGone
	}
	if c.ctx.Err() != nil {
		return fmt.Errorf("%w: %v", response.ErrClientGone, c.ctx.Err())
	}
	return nil
}

// queue hands a block after the first to the stream's writer, starting it
// for the second block. The block is copied into the ring: it lives in out
// or in Python's memory (ext) only until this callback returns. A block
// larger than the whole ring is not copied but written from where it is,
// once the writer has sent what came before it. A callback with no block
// at all is C's, after it put blocks in the ring itself: the writer sleeps
// and must be woken, or it failed.
func (c *Call) queue() error {
	if c.ctx.Err() != nil {
		return fmt.Errorf("%w: %v", response.ErrClientGone, c.ctx.Err())
	}
	if c.s == nil {
		c.s = startStream(c.w, &c.res.ring)
	}
	in := c.out[c.res.hdr_len:c.res.out_len]
	var ext []byte
	if c.res.ext_len > 0 {
		ext = unsafe.Slice((*byte)(unsafe.Pointer(c.res.ext)), int(c.res.ext_len))
	}
	if len(in) == 0 && len(ext) == 0 {
		c.s.poke()
		return c.s.failure()
	}
	if len(in)+len(ext) > StreamQueue {
		if err := c.s.drain(c.ctx, c.expired); err != nil {
			return err
		}
		if err := c.deliver(); err != nil {
			return err
		}
		return c.w.Flush()
	}
	if len(in) > 0 {
		if err := c.s.push(c.ctx, c.expired, in); err != nil {
			return err
		}
	}
	if len(ext) > 0 {
		return c.s.push(c.ctx, c.expired, ext)
	}
	return nil
}

// leave ends the request's admission at the gate, if it has one, and
// reports whether another request was admitted in its place.
func (c *Call) leave() bool {
	if !c.admitted {
		return false
	}
	c.admitted = false
	return entry.leave()
}

// deliver hands what the C side produced (c.res and c.out) to the
// response writer.
func (c *Call) deliver() error {
	r, out := c.res, c.out
	if r.hdr_len > 0 {
		if err := c.startResponse(out[:r.hdr_len]); err != nil {
			return err
		}
		if r.body_len >= 0 {
			if err := c.w.SetLength(int64(r.body_len)); err != nil {
				// A list body short of its Content-Length: known whole
				// before a byte goes out, so a clean 500.
				return &AppError{Traceback: "gowsgi: the WSGI app returned a list or tuple body shorter than the Content-Length it declared: " +
					strings.TrimPrefix(err.Error(), response.ErrShortBody.Error()+": ")}
			}
		}
	}
	if r.out_len > r.hdr_len {
		if _, err := c.w.Write(out[r.hdr_len:r.out_len]); err != nil {
			return err // wraps response.ErrClientGone
		}
	}
	if r.ext_len > 0 {
		// The block belongs to Python and stays alive until the callback
		// returns (a list's last block: in res.hold, until the Call's next
		// request); the writer copies it into its buffer or the socket.
		if _, err := c.w.Write(unsafe.Slice((*byte)(unsafe.Pointer(r.ext)), int(r.ext_len))); err != nil {
			return err
		}
	}
	return nil
}

// startResponse unpacks the status and headers packed by
// gw_pack_start_response (start_response.c; the record is in the package
// doc, "The start_response record") and starts the response with them; the
// writer validates them again before any byte reaches the wire.
func (c *Call) startResponse(p []byte) error {
	status, p, ok := field(p)
	if !ok || len(p) < 4 {
		return &AppError{Traceback: "gowsgi: malformed packed response header (a bug)"}
	}
	n := binary.LittleEndian.Uint32(p)
	p = p[4:]
	c.hdrs = c.hdrs[:0]
	for i := uint32(0); i < n; i++ {
		var name, value string
		if name, p, ok = field(p); ok {
			value, p, ok = field(p)
		}
		if !ok {
			return &AppError{Traceback: "gowsgi: malformed packed response header (a bug)"}
		}
		c.hdrs = append(c.hdrs, response.Header{Name: name, Value: value})
	}
	if err := c.w.Start(status, c.hdrs); err != nil {
		return &AppError{Traceback: "the response failed validation: " + err.Error()}
	}
	return nil
}

func field(p []byte) (string, []byte, bool) {
	if len(p) < 4 {
		return "", nil, false
	}
	n := binary.LittleEndian.Uint32(p)
	if uint64(n) > uint64(len(p)-4) {
		return "", nil, false
	}
	return string(p[4 : 4+n]), p[4+n:], true
}

// BodyError is a request whose app failed on its request body: it let the
// OSError of wsgi.input escape, and the body was not what its framing
// promised, was larger than the server's cap, or came too slowly (see
// ErrBadRequestBody). Run has written no response for it: the caller
// decides what the client gets (package wsgi: 400, 413 or 408 if nothing
// was sent yet).
type BodyError struct {
	Err       error  // the body's error; wraps ErrBadRequestBody
	Traceback string // the app's exception
}

// Error is the body's error.
func (e *BodyError) Error() string { return e.Err.Error() }

// Unwrap returns Err, so errors.Is(err, ErrBadRequestBody) holds.
func (e *BodyError) Unwrap() error { return e.Err }

// failure turns a GW_FAIL result into an *AppError, or into the error of
// a callback that made the app fail: a *BodyError for a malformed request
// body, the client's error for a client gone.
func (c *Call) failure() error {
	traceback := c.takeErr()
	switch {
	case c.cbErr != nil && errors.Is(c.cbErr, ErrBadRequestBody):
		return &BodyError{Err: c.cbErr, Traceback: traceback}
	case c.cbErr != nil && errors.Is(c.cbErr, response.ErrClientGone):
		return c.cbErr
	}
	return &AppError{Traceback: traceback,
		Timeout: c.res.interrupted == C.GW_TIMEOUT, Disconnected: c.res.interrupted == C.GW_GONE}
}

// takeErr returns the request's error text (res.err, malloc'd by the C
// side) and frees it: the one place Run frees it. "unknown error" when
// there is none.
func (c *Call) takeErr() string {
	text := takeErrorN(c.res.err, c.res.err_len)
	c.res.err, c.res.err_len = nil, 0
	return text
}

// interruptWhenGone raises, in the Python thread of the request running
// now, ClientDisconnected when ctx is cancelled (net/http cancels a
// request's context when its client closes the connection), if the
// request still runs then: the app sees the exception at its next
// bytecode, its iterable is closed, and Run returns an *AppError with
// Disconnected set. A ctx that passed its deadline is left to the
// deadline watcher, which raises RequestTimeout. The callback's goroutine
// takes the GIL for it; gw_interrupt checks, under the GIL, that the
// request is still the one it is for. The returned stop waits for a
// callback that has begun, so c.res outlives every use.
func (c *Call) interruptWhenGone(ctx context.Context) (stop func()) {
	res, seq := c.res, C.longlong(c.seq)
	var wg sync.WaitGroup
	wg.Add(1)
	cancel := context.AfterFunc(ctx, func() {
		defer wg.Done()
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			C.gw_interrupt(res, seq, C.GW_GONE)
		}
	})
	return func() {
		if cancel() {
			wg.Done()
		}
		wg.Wait()
	}
}

// logClose logs a failing close() of the app's iterable. It does not fail
// the request: by then the response was complete, or already failing.
func (c *Call) logClose(traceback string) {
	c.app.log.Error("WSGI iterable close() failed", "traceback", traceback)
}

// sendFile sends the file of a wsgi.file_wrapper from its current offset,
// through a duplicate descriptor so Python's file object stays intact.
func (c *Call) sendFile() error {
	fd, err := syscall.Dup(int(c.res.fd))
	if err != nil {
		return &AppError{Traceback: "wsgi.file_wrapper: dup: " + err.Error()}
	}
	f := os.NewFile(uintptr(fd), "wsgi.file_wrapper")
	defer f.Close()
	if _, err := f.Seek(int64(c.res.fd_off), io.SeekStart); err != nil {
		return &AppError{Traceback: "wsgi.file_wrapper: seek: " + err.Error()}
	}
	_, err = c.w.SendFile(f) // a client error wraps response.ErrClientGone
	return err
}
