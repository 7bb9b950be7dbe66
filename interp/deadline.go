package interp

/*
#include "gowsgi.h"
*/
import "C"

import (
	"sync"
	"time"
)

// Request deadlines are watched by one goroutine for the whole process,
// not by a timer per request: a context.WithTimeout, its timer and the
// context.AfterFunc that raised RequestTimeout cost about 4 µs and 13
// allocations a request (BenchmarkServeHTTPHelloTimeout against
// BenchmarkServeHTTPHello), a quarter of a bare hello request's server
// CPU. Arming a Call is a lock and two pointer writes instead.
//
// The watcher looks at the armed Calls every deadlineTick while any is
// armed, and sleeps once none has been for deadlineIdle. A request past
// its deadline has RequestTimeout raised in its Python thread (tried again
// every tick until the thread is in Python to take it, e.g. once the gate
// admits it) and its expired channel closed, which ends a wait of its
// callbacks on the stream writer.
const (
	deadlineTick = 10 * time.Millisecond
	deadlineIdle = time.Second
)

// deadlineSet is the set of armed Calls, an intrusive list under mu.
type deadlineSet struct {
	mu     sync.Mutex
	head   *Call // the armed Calls, linked by dlNext/dlPrev
	parked bool  // the watcher sleeps on wake
	wake   chan struct{}
}

var deadlines = deadlineSet{wake: make(chan struct{}, 1)}

// arm puts c, about to run request seq until at, in the set, and starts
// or wakes the watcher if it is not looking.
func (d *deadlineSet) arm(c *Call, at time.Time) {
	c.dlAt, c.dlSeq, c.dlDone = at, c.seq, false
	d.mu.Lock()
	c.dlNext, c.dlPrev = d.head, nil
	if d.head != nil {
		d.head.dlPrev = c
	}
	d.head = c
	parked := d.parked
	d.parked = false
	d.mu.Unlock()
	if parked {
		d.wake <- struct{}{} // never blocks: one parked watcher, one send
	}
}

// disarm takes c out of the set, waiting for an expiry the watcher has
// begun on it, so c.res and c.expired are the Call's own again.
func (d *deadlineSet) disarm(c *Call) {
	d.mu.Lock()
	if c.dlPrev != nil {
		c.dlPrev.dlNext = c.dlNext
	} else {
		d.head = c.dlNext
	}
	if c.dlNext != nil {
		c.dlNext.dlPrev = c.dlPrev
	}
	c.dlNext, c.dlPrev = nil, nil
	d.mu.Unlock()
	c.dlFire.Lock() // waits for expire, if it runs
	c.dlFire.Unlock()
}

// watch is the watcher's goroutine, started by init: it sleeps until a
// Call is armed, then looks every deadlineTick until none has been armed
// for deadlineIdle.
func (d *deadlineSet) watch() {
	for range d.wake {
		d.look()
	}
}

// look is one waking spell of the watcher.
func (d *deadlineSet) look() {
	t := time.NewTicker(deadlineTick)
	defer t.Stop()
	busy := time.Now() // when a Call was last seen armed
	var due []*Call
	for now := range t.C {
		d.mu.Lock()
		if d.head == nil && now.Sub(busy) >= deadlineIdle {
			d.parked = true // under mu: the next arm sees it and wakes us
			d.mu.Unlock()
			return
		}
		if d.head != nil {
			busy = now
		}
		for c := d.head; c != nil; c = c.dlNext {
			if !c.dlDone && !now.Before(c.dlAt) {
				c.dlFire.Lock() // until expire is done: disarm waits for it
				due = append(due, c)
			}
		}
		d.mu.Unlock()
		for _, c := range due {
			c.expire()
			c.dlFire.Unlock()
		}
		clear(due)
		due = due[:0]
	}
}

// expire raises RequestTimeout in c's request, if it is in Python to take
// it, and closes c.expired. The watcher holds c.dlFire, so c is still
// armed for the same request.
func (c *Call) expire() {
	if C.gw_interrupt(c.res, C.longlong(c.dlSeq), C.GW_TIMEOUT) != 0 {
		c.dlDone = true // raised, or nothing left to raise it in
	}
	if !c.expiredClosed {
		close(c.expired)
		c.expiredClosed = true
	}
}

func init() {
	deadlines.parked = true
	go deadlines.watch()
}
