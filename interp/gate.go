package interp

/*
#include "gowsgi.h"
*/
import "C"

import (
	"runtime"
	"sync/atomic"
	"time"
)

// The gate keeps requests that want the GIL waiting in Go, not in C.
//
// Only one thread runs Python at a time. A goroutine that calls into C and
// waits there for the GIL blocks its OS thread in the kernel: the Go
// scheduler hands its P to another thread, and every drop of the GIL wakes
// a sleeping thread, with a context switch each way. Under load a
// CPU-bound app (Flask, Django) then spends more time switching threads
// than running Python. Parked in Go instead, a waiting request costs no OS
// thread, and the hand-off from one request to the next is a goroutine
// wake-up.
//
// The gate has one token, taken for a call into Python and given back when
// the call returns or calls back into Go. But its holder may not be using
// the GIL: an I/O-bound app waits on its database (or sleeps) with the GIL
// released, and then other requests should run Python at once, not queue
// behind it. So a request that finds the token taken but the GIL free goes
// into C without the token; one that finds both taken waits for the token,
// and while any wait a watcher looks at the GIL every watchEvery, letting
// the longest waiting request in when the holder has begun to wait on I/O.
// (A waiter that looked at the GIL itself now and then would lose its place
// in the queue each time: the tail latency showed it.)
type gate struct {
	tok      chan struct{} // buffered, capacity 1: full while someone holds the token
	pass     chan struct{} // the watcher lets a waiter in beside the holder
	waiting  atomic.Int32  // goroutines waiting in enter
	watching atomic.Bool   // a watcher goroutine runs
}

// watchEvery is how often the watcher looks at the GIL while requests
// wait: a Flask or Django request computes for 50–150 µs here, a database
// query or a sleep leaves the GIL free for milliseconds.
const watchEvery = 100 * time.Microsecond

// entry is the process's gate: one interpreter, one GIL.
var entry = gate{tok: make(chan struct{}, 1), pass: make(chan struct{})}

// enter waits for the token, or for a moment when it is held but the GIL
// is free. It reports whether it took the token; if it did, the caller
// must leave. Waiters are served in the order they came.
func (g *gate) enter() bool {
	select {
	case g.tok <- struct{}{}:
		return true
	default:
	}
	if gilLocked() != 1 {
		// Free: the holder waits on I/O, go in beside it. Unknown (a
		// Python whose GIL gil.c cannot read): don't queue at all.
		return false
	}
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	if g.watching.CompareAndSwap(false, true) {
		go g.watch()
	}
	select {
	case g.tok <- struct{}{}:
		return true
	case <-g.pass:
		return false
	}
}

// watch runs while requests wait, and lets the longest waiting one in
// whenever it finds the token held but the GIL free: the holder has begun
// to wait on I/O since the others queued.
func (g *gate) watch() {
	t := time.NewTimer(watchEvery)
	defer t.Stop()
	for {
		<-t.C
		if g.waiting.Load() == 0 {
			g.watching.Store(false)
			// A waiter that came between the Load and the Store saw a
			// watcher and started none: keep watching for it.
			if g.waiting.Load() == 0 || !g.watching.CompareAndSwap(false, true) {
				return
			}
		}
		if len(g.tok) == 1 && gilLocked() == 0 {
			select {
			case g.pass <- struct{}{}:
			default:
			}
		}
		t.Reset(watchEvery)
	}
}

// leave gives the token back if took says enter took it.
func (g *gate) leave(took bool) {
	if took {
		<-g.tok
	}
}

// handOver, called after leave gave the token back, lets the request that
// got it, if one waited, run Python now, on this P (a channel hands it
// over there), instead of after the caller's own Go work: its socket
// writes take tens of microseconds while the GIL sits idle. It lowered
// Flask's p99 under load by a fifth. The caller must not be locked to its
// OS thread.
func (g *gate) handOver() {
	if g.waiting.Load() > 0 {
		runtime.Gosched()
	}
}

// gilLocked reports whether a thread holds the GIL: 1 yes, 0 no, -1 this
// Python's layout is unknown (see gil.c).
func gilLocked() int { return int(C.gw_gil_locked()) }
