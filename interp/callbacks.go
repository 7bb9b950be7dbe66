package interp

// The C side calls these without the GIL, on the goroutine running the
// request (a callback runs on the goroutine that made the cgo call).

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
	"runtime/cgo"
	"unsafe"

	"github.com/gowsgi/wsgi/response"
)

//export gowsgiRead
func gowsgiRead(call C.uintptr_t, buf *C.char, n C.Py_ssize_t) C.Py_ssize_t {
	c := cgo.Handle(call).Value().(*Call)
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
			c.cbErr = fmt.Errorf("%w: reading the request body: %v", response.ErrClientGone, err)
			return -1
		}
	}
}

//export gowsgiWrite
func gowsgiWrite(call C.uintptr_t, hdr *C.char, hdrLen C.Py_ssize_t, data *C.char, n C.Py_ssize_t) C.int {
	c := cgo.Handle(call).Value().(*Call)
	if hdrLen > 0 {
		if err := c.start(unsafe.Slice((*byte)(unsafe.Pointer(hdr)), int(hdrLen))); err != nil {
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

//export gowsgiLog
func gowsgiLog(app C.uintptr_t, msg *C.char, n C.Py_ssize_t) {
	a := cgo.Handle(app).Value().(*App)
	a.log.LogAttrs(context.Background(), slog.LevelError, "wsgi.errors",
		slog.String("text", C.GoStringN(msg, C.int(n))))
}
