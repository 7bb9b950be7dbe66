package interp

/*
#include "gowsgi.h"
*/
import "C"

import "time"

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
// looking at the GIL again now and then (first after recheckMin, backing
// off to recheckMax), since the holder may start waiting on I/O at any
// moment.
type gate struct {
	tok chan struct{} // buffered, capacity 1: full while someone holds the token
}

const (
	recheckMin = 200 * time.Microsecond
	recheckMax = 2 * time.Millisecond
)

// entry is the process's gate: one interpreter, one GIL.
var entry = gate{tok: make(chan struct{}, 1)}

// enter waits for the token, or for a moment when it is held but the GIL
// is free. It reports whether it took the token; if it did, the caller
// must leave. t is the caller's own stopped timer.
func (g *gate) enter(t *time.Timer) bool {
	select {
	case g.tok <- struct{}{}:
		return true
	default:
	}
	wait := recheckMin
	for {
		switch gilLocked() {
		case 0:
			return false // the holder waits on I/O: go in beside it
		case -1:
			if wait > recheckMin {
				return false // no way to look: don't queue for long
			}
		}
		t.Reset(wait)
		select {
		case g.tok <- struct{}{}:
			t.Stop() // a stale tick (Go < 1.23 timers) only costs a look
			return true
		case <-t.C:
		}
		wait = min(2*wait, recheckMax)
	}
}

// leave gives the token back if took says enter took it.
func (g *gate) leave(took bool) {
	if took {
		<-g.tok
	}
}

// gilLocked reports whether a thread holds the GIL: 1 yes, 0 no, -1 this
// Python's layout is unknown (see gil.c).
func gilLocked() int { return int(C.gw_gil_locked()) }
