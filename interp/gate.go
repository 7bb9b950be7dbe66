package interp

/*
#include "gowsgi.h"
*/
import "C"

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The gate decides when a request may call into Python.
//
// Only one thread runs Python at a time. A goroutine that calls into C and
// waits there for the GIL blocks its OS thread in the kernel: the Go
// scheduler hands its P to another thread, and every drop of the GIL wakes
// a sleeping thread, with a context switch each way. With many requests in
// C at once a CPU-bound app (Flask, Django, whose sqlite3 calls release the
// GIL many times a request) spends more time switching threads than running
// Python: the convoy. So requests wait for their turn in Go, where a waiter
// costs no OS thread and a hand-off is a goroutine wake-up, and the gate
// admits only as many into C as keep the GIL busy: its limit.
//
// # The limit
//
// How many requests should be in C at once depends on the app: one at a
// time for an app that computes (a second one only waits for the GIL), as
// many as there are for one that waits on a database with the GIL
// released. While requests run or wait, a watcher samples the GIL's flag
// every sampleEvery (gil.c), and the requests measure their time in C: the
// CPU their thread used, and how much of their own time there (leaving out
// callbacks into Go and waiting for the GIL at the gate's side) they spent
// blocked rather than computing. At the end of each window the watcher
// adapts the limit (adapt):
//
//   - requests waited, the GIL was idle for more than a quarter of the
//     window, the requests in C used less than growBelow of a core, and
//     they were blocked more than half their time: they wait on
//     something other than Python (a database, a sleep, an upstream), so
//     more may come in: one more, or twice as many when they were blocked
//     more than four fifths of the time;
//   - more than one request was in C, and the GIL was busy in nearly
//     every sample, or the requests used more than shrinkAbove of a core,
//     or the GIL passed from thread to thread more than convoyAt times a
//     request (a convoy: each of Django's sqlite3 calls hands it to
//     another request and back): they only take turns on the GIL, so the
//     limit shrinks by one, down to one. A convoy also keeps it from
//     growing.
//
// The GIL's flag alone cannot tell a request blocked on I/O from one
// computing in C with the GIL released, nor from one whose thread waits for
// a core: under wrk on two cores the GIL looked idle a third of the time in
// Django and up to four fifths in Flask, and a limit that grew on that
// alone climbed to 32 and brought the convoy back (Django on SQLite: 180
// req/s at 6.5 ms of CPU a request, against 350 at 2.9 ms one at a time).
// What the requests measure tells them apart (logged under load, blocked
// part of their time in C: Flask 0.03–0.4, Django 0–0.05 one at a time,
// a 2 ms sleep 0.97–0.99, the mixed app 0.9; GIL hand-offs a request:
// Django two at a time 2.8–3.3, every other app 0–1.6). The measures cost
// two clock_gettime system calls and a few vDSO clock reads a request, made
// only while the watcher runs; CPython counts the hand-offs (gil.c).
//
// The limit starts at one and never exceeds what is asked of it (requests
// in C plus those waiting). On a Python whose GIL gil.c cannot read, the
// gate admits everyone and leaves the scheduling to CPython.
//
// # Fairness
//
// A limit of one must not let one long request starve the others, the
// way a gate that only waits for its holder to finish would: a report or a
// runaway regular expression would stop the site. CPython's own rule is the
// model (Python/ceval_gil.c): a thread that waits for the GIL for a switch
// interval (5 ms, sys.getswitchinterval) sets gil_drop_request, and the
// holder's eval loop drops the GIL at its next check and lets the waiter
// have it. The gate keeps the same promise one level up: when requests
// wait and no request has been admitted for a slice (the switch interval
// again), the longest waiting one is admitted beyond the limit. It then
// waits for the GIL in C like any thread, and CPython switches to it
// within a switch interval. So a short request behind one that computes
// for seconds, or forever, is served within about two switch intervals,
// and at most one request a slice goes into C beyond the limit: the OS
// threads that pile up on the GIL are bounded by time, not by load.
type gate struct {
	mu       sync.Mutex
	running  int       // admitted requests in C (not in a callback into Go)
	limit    int       // admitted at most, but for fairness passes; ≥ 1
	queue    []*waiter // waiting requests, longest waiting first
	lastPass time.Time // the latest admission
	watching bool      // the watcher goroutine runs

	// The watcher's current window.
	samples, busy, queued int
	// Every sample taken, and those that found the GIL held, since the
	// start: for metrics (GateState).
	allSamples, allBusy int64
	began               time.Time // when it began
	switches0           int64     // the GIL's hand-offs when it began
	// Callbacks into Go in it (of requests that ended in it; wsgi.errors
	// lines aside): each gives the GIL up and takes it back, a hand-off of
	// the request's own rather than a convoy's.
	callbacks atomic.Int64
	// Of the requests that ended in it (measured): their threads' CPU
	// time in C, their time in C, and the part of that which was not the
	// app's (in callbacks into Go, and waiting to take the GIL on return
	// from one or at the start), in ns; and how many.
	cpu, wall, wait, done atomic.Int64

	gil      func() int   // the GIL's flag: 1 held, 0 free, -1 unknown (gilLocked)
	switches func() int64 // the GIL's hand-offs between threads so far (gilSwitches)

	// Requests that waited at the gate so far, and their time waiting
	// in ns: for metrics.
	waits, waited atomic.Int64

	logged   int       // the limit last logged
	loggedAt time.Time // when
}

// A waiter is a request waiting at the gate. A Call keeps one.
type waiter struct {
	ready chan struct{} // buffered, capacity 1: sent to when admitted
}

func newWaiter() *waiter { return &waiter{ready: make(chan struct{}, 1)} }

const (
	// sampleEvery is how often the watcher looks at the GIL while
	// requests run or wait: a Flask or Django request computes for
	// 50 µs to 3 ms here; a database call or a sleep leaves the GIL free
	// for milliseconds.
	sampleEvery = 200 * time.Microsecond
	// window is how long the limit is adapted over: a handful of Django
	// requests, a hundred samples when the timer keeps time.
	window = 20 * time.Millisecond
	// growBelow and shrinkAbove bound the CPU the requests in C may use,
	// in cores, for the limit to grow or to shrink (see the type).
	growBelow   = 0.9
	shrinkAbove = 0.95
	// convoyAt is how many times a request may pass the GIL to another
	// thread, on average, before the requests in C count as a convoy: one
	// to start and one around a wait.
	convoyAt = 2
	// slice is how long the gate lets requests wait with nobody admitted
	// before it admits the longest waiting one beyond the limit:
	// CPython's default switch interval.
	slice = 5 * time.Millisecond
)

// entry is the process's gate: one interpreter, one GIL.
var entry = newGate(gilLocked, gilSwitches)

func newGate(gil func() int, switches func() int64) *gate {
	return &gate{limit: 1, logged: 1, gil: gil, switches: switches}
}

// enter returns once the request may call into Python; it must leave when
// the call returns or calls back into Go. Waiters are served in the order
// they came; a fixed request (AppOptions.Fixed) is admitted at once. It
// reports whether the watcher runs: the request should then add the CPU
// time it uses in C to g.cpu.
func (g *gate) enter(w *waiter, fixed bool) (measure bool) {
	g.mu.Lock()
	if fixed || g.running < g.limit && len(g.queue) == 0 {
		g.admit()
		measure = g.watching
		g.mu.Unlock()
		return measure
	}
	if g.gil() < 0 {
		// A Python whose GIL gil.c cannot read: nothing to adapt by,
		// so no queue; CPython schedules the threads.
		g.limit = 1 << 30
		g.admit()
		g.mu.Unlock()
		return false
	}
	g.queue = append(g.queue, w)
	g.watch()
	g.mu.Unlock()
	t0 := time.Now()
	<-w.ready
	g.waited.Add(int64(time.Since(t0)))
	g.waits.Add(1)
	return true
}

// leave ends an admission. It reports whether it admitted a waiter in its
// place.
func (g *gate) leave() bool {
	g.mu.Lock()
	g.running--
	woke := g.admitWaiting()
	g.mu.Unlock()
	return woke
}

// admit counts one more request in C. g.mu is held.
func (g *gate) admit() {
	g.running++
	g.lastPass = time.Now()
	if g.running > 1 {
		g.watch() // to see whether they only take turns on the GIL
	}
}

// admitWaiting admits waiting requests while the limit allows, and
// reports whether it admitted any. g.mu is held.
func (g *gate) admitWaiting() bool {
	woke := false
	for g.running < g.limit && len(g.queue) > 0 {
		g.pass()
		woke = true
	}
	return woke
}

// pass admits the longest waiting request, within the limit or not.
// g.mu is held.
func (g *gate) pass() {
	w := g.queue[0]
	copy(g.queue, g.queue[1:])
	g.queue[len(g.queue)-1] = nil
	g.queue = g.queue[:len(g.queue)-1]
	g.admit()
	w.ready <- struct{}{}
}

// watch starts the watcher if it is not running. g.mu is held.
func (g *gate) watch() {
	if !g.watching {
		g.watching = true
		g.newWindow(time.Now())
		go g.watcher()
	}
}

// newWindow starts a window of samples at now. g.mu is held.
func (g *gate) newWindow(now time.Time) {
	g.samples, g.busy, g.queued, g.began = 0, 0, 0, now
	g.switches0 = g.switches()
	g.callbacks.Store(0)
	g.cpu.Store(0)
	g.wall.Store(0)
	g.wait.Store(0)
	g.done.Store(0)
}

// watcher samples the GIL while requests wait or more than one is in C,
// gives a fairness pass when nobody was admitted for a slice, and adapts
// the limit at the end of each window.
func (g *gate) watcher() {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for range t.C {
		g.mu.Lock()
		if len(g.queue) == 0 && g.running <= 1 {
			g.watching = false
			g.mu.Unlock()
			return
		}
		g.sample(time.Now())
		g.mu.Unlock()
	}
}

// sample takes one look at the GIL at time now. g.mu is held.
func (g *gate) sample(now time.Time) {
	g.samples++
	g.allSamples++
	if g.gil() == 1 {
		g.busy++
		g.allBusy++
	}
	if len(g.queue) > 0 {
		g.queued++
		if now.Sub(g.lastPass) >= slice {
			g.pass() // fairness: see the type's comment
		}
	}
	if now.Sub(g.began) >= window {
		// blocked: the part of the app's own time in C that its threads
		// did not compute (the CPU of the callbacks counts as the app's:
		// it errs towards not growing).
		cpu, own := float64(g.cpu.Load()), float64(g.wall.Load()-g.wait.Load())
		blocked := 0.0
		if own > 0 {
			blocked = max(0, own-cpu) / own
		}
		switches := g.switches() - g.switches0 - g.callbacks.Load()
		g.adapt(cpu/float64(now.Sub(g.began)), blocked, switches, g.done.Load())
		g.newWindow(now)
	}
}

// adapt sets the limit from the window just ended, in which the requests
// used cores of CPU in C (1 is one core all the time), spent the fraction
// blocked of their own time in C not computing (waiting on I/O, or for the
// GIL inside the app), the GIL passed, callbacks into Go aside, between threads switches times, and done
// requests ended. g.mu is held.
func (g *gate) adapt(cores, blocked float64, switches, done int64) {
	idle := g.samples - g.busy
	waited := g.queued*2 >= g.samples
	demand := g.running + len(g.queue)
	convoy := done > 0 && switches > convoyAt*done
	switch {
	case g.running > 1 && (g.busy*100 >= g.samples*97 || cores > shrinkAbove || convoy):
		g.limit = min(g.limit, g.running) - 1
	case !waited || idle*4 <= g.samples || convoy || cores > growBelow:
	case blocked > 0.8:
		g.limit *= 2
	case blocked > 0.5:
		g.limit++
	}
	g.limit = max(1, min(g.limit, demand))
	g.admitWaiting()
	if g.limit != g.logged && time.Since(g.loggedAt) >= time.Second {
		g.logged, g.loggedAt = g.limit, time.Now()
		if l := limitLog.Load(); l != nil {
			l.Debug("gowsgi scheduler: requests in Python at once",
				"limit", g.limit, "running", g.running, "waiting", len(g.queue),
				"gil_busy", float64(g.busy)/float64(g.samples), "cpu_cores", cores, "blocked", blocked,
				"switches", switches, "done", done)
		}
	}
}

// GateState is a snapshot of the gate, for logs and metrics.
type GateState struct {
	Limit   int // how many requests may be in Python at once, as adapted to the app
	Running int // requests in Python now
	Waiting int // requests waiting for their turn

	Waits  int64         // requests that have waited for their turn so far
	Waited time.Duration // their time waiting, in all

	// The gate looks at the GIL every sampleEvery while requests contend
	// for Python (more than one in it, or some waiting): GILSamples looks
	// so far, GILBusy of them finding it held. GILBusy/GILSamples over an
	// interval is how much of the contended time the GIL was busy: near 1,
	// Python is the bottleneck and more threads only queue.
	GILSamples, GILBusy int64
}

// Gate reports the gate's current state.
func Gate() GateState { return entry.state() }

func (g *gate) state() GateState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return GateState{Limit: g.limit, Running: g.running, Waiting: len(g.queue),
		Waits: g.waits.Load(), Waited: time.Duration(g.waited.Load()),
		GILSamples: g.allSamples, GILBusy: g.allBusy}
}

// limitLog is where the gate logs its limit, at debug level, at most once
// a second when it changed: the logger of the first App loaded.
var limitLog atomic.Pointer[slog.Logger]

// measured adds what a request that ended measured in C (see gw_result)
// to the window.
func (g *gate) measured(cpu, wall, wait int64) {
	g.cpu.Add(cpu)
	g.wall.Add(wall)
	g.wait.Add(wait)
	g.done.Add(1)
}

// handOver, called after leave admitted a waiter, lets it run Python now,
// on this P (the channel send readied it here), instead of after the
// caller's own Go work: its socket writes take tens of microseconds while
// the GIL sits idle. It lowered Flask's p99 under load by a fifth. The
// caller must not be locked to its OS thread.
func handOver() { runtime.Gosched() }

// gilLocked reports whether a thread holds the GIL: 1 yes, 0 no, -1 this
// Python's layout is unknown (see gil.c).
func gilLocked() int { return int(C.gw_gil_locked()) }

// gilSwitches reports how many times the GIL has passed from one thread to
// another, or -1 for a layout gil.c does not know.
func gilSwitches() int64 { return int64(C.gw_gil_switches()) }

// ThreadStates reports how many OS threads have a Python thread state made
// for requests (each keeps one for its life).
func ThreadStates() int { return int(C.gw_thread_states()) }
