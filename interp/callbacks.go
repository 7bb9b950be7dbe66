package interp

// The C side calls these without the GIL, on the goroutine running the
// request (a callback runs on the goroutine that made the cgo call).
//
// None of them may let a panic out: it would unwind through the C frames
// below the callback, and for read(), write() and wsgi.errors through
// CPython's own frames, leaving the interpreter half-way through running
// them (every later request then fails or crashes), the request never
// ended and its iterable never closed. A panic (from a ResponseWriter or
// request body that middleware supplies, say) is caught, the callback
// fails as for a client gone, and Run panics again with the same value
// once the request has ended in C.

/*
#include "gowsgi.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/cgo"
	"strings"
	"unsafe"

	"github.com/gowsgi/wsgi/response"
)

//export gowsgiRead
func gowsgiRead(call C.uintptr_t, buf *C.char, n C.Py_ssize_t) (got C.Py_ssize_t) {
	c := cgo.Handle(call).Value().(*Call)
	c.callbacks++
	c.leave() // waiting on the client: let other requests into Python
	if c.panicked != nil {
		return C.GW_READ_FAILED
	}
	defer func() {
		if c.caught(recover()) {
			got = C.GW_READ_FAILED
		}
	}()
	if c.stream == nil {
		return 0
	}
	p := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	for {
		m, err := c.stream.Read(p)
		if m > 0 {
			return C.Py_ssize_t(m)
		}
		if errors.Is(err, io.EOF) {
			return 0
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// The client is slow, not gone: it may still read a 408.
				c.cbErr = fmt.Errorf("%w: the client sent it too slowly: %w", ErrBadRequestBody, err)
				return C.GW_READ_TIMEOUT
			}
			if MalformedBody(err) {
				c.cbErr = fmt.Errorf("%w: %w", ErrBadRequestBody, err)
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					return C.GW_READ_TOO_LARGE // wsgi.input says so: the app may want to tell the user
				}
			} else {
				c.cbErr = fmt.Errorf("%w: reading the request body: %v", response.ErrClientGone, err)
			}
			return C.GW_READ_FAILED
		}
	}
}

// ErrBadRequestBody wraps the error of a request body that is not what its
// framing promised: a malformed chunked encoding, say, a body past its
// cap (an *http.MaxBytesError), or one that came too slowly (a read past
// its deadline, os.ErrDeadlineExceeded). When the app lets the resulting
// OSError from wsgi.input escape, Run returns a *BodyError wrapping it, and
// the server answers 400 Bad Request (413 Content Too Large for the cap,
// 408 Request Timeout for the slow one) if nothing was sent yet, rather
// than cut the connection.
var ErrBadRequestBody = errors.New("interp: malformed request body")

// MalformedBody reports whether err, from reading a request body, is the
// client's framing (or the body's size) at fault rather than the
// connection: net/http's chunked reader and trailer errors and
// *http.MaxBytesError are plain errors; a client gone is a net.Error,
// io.ErrUnexpectedEOF or a closed or timed-out connection.
func MalformedBody(err error) bool {
	var ne net.Error
	return !errors.As(err, &ne) && !errors.Is(err, io.ErrUnexpectedEOF) &&
		!errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded)
}

//export gowsgiWrite
func gowsgiWrite(call C.uintptr_t, hdr *C.char, hdrLen C.Py_ssize_t, data *C.char, n C.Py_ssize_t) (rc C.int) {
	c := cgo.Handle(call).Value().(*Call)
	c.callbacks++
	c.leave() // writing to the client: let other requests into Python
	if c.panicked != nil {
		return -1
	}
	defer func() {
		if c.caught(recover()) {
			rc = -1
		}
	}()
	if c.s != nil {
		// Blocks of the iterable still queued go first; then the
		// writer is idle and this write may use the response.
		if err := c.s.drain(c.ctx, c.expired); err != nil {
			c.cbErr = err
			return -1
		}
	}
	if hdrLen > 0 {
		if err := c.startResponse(unsafe.Slice((*byte)(unsafe.Pointer(hdr)), int(hdrLen))); err != nil {
			c.cbErr = err
			return -1
		}
	}
	if _, err := c.w.Write(unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n))); err != nil {
		c.cbErr = err
		return -1
	}
	if err := c.w.Flush(); err != nil {
		c.cbErr = err
		return -1
	}
	return 0
}

//export gowsgiBlock
func gowsgiBlock(call C.uintptr_t) (rc C.int) {
	c := cgo.Handle(call).Value().(*Call)
	c.callbacks++
	if c.panicked != nil {
		c.leave()
		return -1
	}
	defer func() {
		if c.caught(recover()) {
			rc = -1
		}
	}()
	if err := c.block(); err != nil {
		c.leave()
		c.cbErr = err
		return -1
	}
	return 0
}

//export gowsgiLog
func gowsgiLog(app C.uintptr_t, msg *C.char, n C.Py_ssize_t) {
	text := C.GoStringN(msg, C.int(n))
	defer func() {
		// No request to fail here (wsgi.errors is the app's): the line
		// goes to stderr rather than unwinding through Python. So does
		// one written, through a wsgi.errors the app kept, after
		// App.Close deleted the handle.
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "gowsgi: wsgi.errors could not log (%v): %s\n", p, strings.TrimRight(text, "\n"))
		}
	}()
	a := cgo.Handle(app).Value().(*App)
	a.log.LogAttrs(context.Background(), errorsLevel(text), "wsgi.errors", slog.String("text", text))
}

// errCallbackPanic is what a callback that panicked reports; Run panics
// again with the value itself.
var errCallbackPanic = fmt.Errorf("%w: a panic in Go during the request", response.ErrClientGone)

// caught reports whether p, what a callback's deferred recover returned,
// is a panic; if so it fails the request's callbacks from now on and keeps
// the first panic for Run to raise again once C has ended the request.
func (c *Call) caught(p any) bool {
	if p == nil {
		return false
	}
	if c.panicked == nil {
		c.panicked = p
	}
	c.leave()
	c.cbErr = errCallbackPanic
	return true
}
