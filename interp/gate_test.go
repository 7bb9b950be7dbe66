package interp

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowsgi/wsgi/environ"
	"github.com/gowsgi/wsgi/response"
)

// TestGILLocked checks that the gate can see the GIL on this Python: with
// no request in Python it is free, and the answer is not "unknown", which
// would leave the gate going by time alone.
func TestGILLocked(t *testing.T) {
	if err := Start(Config{}); err != nil {
		t.Fatal(err)
	}
	if got := gilLocked(); got != 0 {
		t.Fatalf("gilLocked() = %d with no request in Python, want 0 (1 held, -1 unknown layout: see gil.c for Python %s)", got, Version())
	}
}

// spin runs a request of testdata/spinapp.py, which computes for 0.3 s
// holding the GIL, and returns its result and what it sent.
func spin(t *testing.T) (<-chan error, *httptest.ResponseRecorder) {
	t.Helper()
	dir, _ := filepath.Abs("testdata")
	a, err := Load("spinapp:app", AppOptions{PythonPath: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	c := a.NewCall()
	r := httptest.NewRequest("GET", "/", nil)
	rec := httptest.NewRecorder()
	w := new(response.Writer)
	w.Reset(rec, r)
	env, flags := environ.Build(nil, r, &environ.Options{})
	done := make(chan error, 1)
	go func() {
		err := c.Run(context.Background(), time.Time{}, env, flags, nil, nil, w)
		if err == nil {
			err = w.Finish()
		}
		c.Free()
		a.Close()
		done <- err
	}()
	return done, rec
}

// TestGILLockedWhileComputing checks that gilLocked reads the real flag
// of this Python's GIL: it must say "held" while a request computes in
// Python, and "free" once it is over.
func TestGILLockedWhileComputing(t *testing.T) {
	if err := Start(Config{}); err != nil {
		t.Fatal(err)
	}
	done, rec := spin(t)

	held := false
	for !held {
		select {
		case err := <-done:
			t.Fatalf("the request ended (err %v) and the GIL never looked held", err)
		default:
		}
		held = gilLocked() == 1
		time.Sleep(time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := rec.Body.String(); got != "spun" {
		t.Fatalf("body %q, want %q", got, "spun")
	}
	if got := gilLocked(); got != 0 {
		t.Fatalf("gilLocked() = %d after the request, want 0", got)
	}
}

// TestGILSwitches checks that gilSwitches reads the real hand-off count of
// this Python's GIL: two requests that compute at once take turns on the
// GIL every switch interval (the second one is let in by a fairness pass),
// so the count grows by many while they run.
func TestGILSwitches(t *testing.T) {
	if err := Start(Config{}); err != nil {
		t.Fatal(err)
	}
	before := gilSwitches()
	if before < 0 {
		t.Fatalf("gilSwitches() = %d: unknown layout (see gil.c for Python %s)", before, Version())
	}
	a, _ := spin(t)
	b, _ := spin(t)
	for _, done := range []<-chan error{a, b} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// 0.3 s each, turns of 5 ms: about 60 hand-offs; 10 is plenty.
	if got := gilSwitches() - before; got < 10 {
		t.Fatalf("the GIL passed between threads %d times while two requests computed together, want ≥ 10", got)
	}
}

// fakeGIL is a GIL flag a test sets: 1 held, 0 free.
type fakeGIL struct{ v atomic.Int32 }

func (f *fakeGIL) read() int { return int(f.v.Load()) }

func noSwitches() int64 { return 0 }

// admitted runs g.enter in a goroutine and returns a channel closed once
// it is admitted.
func admitted(g *gate) <-chan struct{} {
	in := make(chan struct{})
	go func() {
		g.enter(newWaiter(), false)
		close(in)
	}()
	return in
}

func wait(t *testing.T, in <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-in:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not admitted", what)
	}
}

// TestGateFairPass: with the limit at one and the GIL held for good (a
// request that computes forever), a waiting request is still admitted,
// while the first one is still in.
func TestGateFairPass(t *testing.T) {
	var gil fakeGIL
	gil.v.Store(1)
	g := newGate(gil.read, noSwitches)
	wait(t, admitted(g), "first request")
	for i := 0; i < 3; i++ {
		wait(t, admitted(g), "a request behind one that never leaves")
	}
	if s := g.state(); s.Running != 4 || s.Limit != 1 {
		t.Fatalf("gate %+v, want 4 running beyond a limit of 1", s)
	}
	for i := 0; i < 4; i++ {
		g.leave()
	}
}

// TestGateFixed: a fixed app's request (AppOptions.Fixed) is admitted at
// once, beyond the limit and past the waiting ones.
func TestGateFixed(t *testing.T) {
	var gil fakeGIL
	gil.v.Store(1)
	g := newGate(gil.read, noSwitches)
	g.enter(newWaiter(), false)
	g.mu.Lock()
	g.lastPass = time.Now().Add(time.Hour) // no fairness pass during the test
	g.mu.Unlock()
	queued := admitted(g)
	for g.state().Waiting != 1 {
		time.Sleep(100 * time.Microsecond)
	}
	g.enter(newWaiter(), true)
	if s := g.state(); s.Running != 2 || s.Waiting != 1 {
		t.Fatalf("gate %+v, want the fixed request in beside the first, one waiting", s)
	}
	g.leave()
	g.leave()
	wait(t, queued, "the waiting request")
	g.leave()
}

// TestGateOrder: waiters are admitted in the order they came.
func TestGateOrder(t *testing.T) {
	var gil fakeGIL
	gil.v.Store(1)
	g := newGate(gil.read, noSwitches)
	g.enter(newWaiter(), false)
	order := make(chan int, 5)
	for i := 0; i < 5; i++ {
		w := newWaiter()
		go func() {
			g.enter(w, false)
			order <- i
			g.leave()
		}()
		for g.state().Waiting+len(order) != i+1 { // queued, or already let in
			time.Sleep(100 * time.Microsecond)
		}
	}
	g.leave()
	for i := 0; i < 5; i++ {
		if got := <-order; got != i {
			t.Fatalf("admission %d went to waiter %d", i, got)
		}
	}
}

// TestGateGrowsWhileGILIdles: requests in C that leave the GIL free and
// are blocked most of their time there (they wait on a database, say) let
// the waiting ones in: the limit grows.
func TestGateGrowsWhileGILIdles(t *testing.T) {
	var gil fakeGIL
	g := newGate(gil.read, noSwitches)
	// Requests that end report what they did in C: 1 ms there, 10 µs of
	// it computing.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				g.measured(int64(10*time.Microsecond), int64(time.Millisecond), 0)
			}
		}
	}()
	wait(t, admitted(g), "first request")
	var ins []<-chan struct{}
	for i := 0; i < 15; i++ {
		ins = append(ins, admitted(g))
	}
	for i, in := range ins {
		wait(t, in, "request "+strconv.Itoa(i+1))
	}
	if s := g.state(); s.Limit < 2 {
		t.Fatalf("gate %+v: all came in by fairness passes, the limit never grew", s)
	}
	for i := 0; i < 16; i++ {
		g.leave()
	}
}

// TestGateShrinksWhileGILBusy: several requests in C with the GIL always
// held only take turns on it: the limit comes down to one.
func TestGateShrinksWhileGILBusy(t *testing.T) {
	var gil fakeGIL
	g := newGate(gil.read, noSwitches)
	for i := 0; i < 4; i++ {
		wait(t, admitted(g), "request "+strconv.Itoa(i))
	}
	gil.v.Store(1)
	for g.state().Limit != 1 {
		time.Sleep(time.Millisecond)
	}
	// Requests that leave now admit nobody beyond the limit of one.
	for i := 0; i < 4; i++ {
		g.leave()
	}
	wait(t, admitted(g), "a request after all left")
	if s := g.state(); s.Running != 1 {
		t.Fatalf("gate %+v, want 1 running", s)
	}
}

func TestGateAdapt(t *testing.T) {
	const samples = 100
	for _, tc := range []struct {
		name                  string
		limit, running, queue int
		busy, queued          int     // of the window's samples
		cores, blocked        float64 // CPU the requests used in C, the part of their time blocked
		switches, done        int64   // the GIL's hand-offs, requests ended
		want                  int
	}{
		{"GIL idle, requests blocked and waiting: doubles", 2, 2, 10, 5, samples, 0.05, 0.95, 4, 2, 4},
		{"GIL idle a third, requests blocked 60%: one more", 2, 2, 10, samples * 2 / 3, samples, 0.35, 0.6, 4, 2, 3},
		{"GIL idle, none waiting: holds", 3, 3, 0, 0, 0, 0.05, 0.95, 6, 3, 3},
		{"GIL idle a third but requests compute: holds", 1, 1, 10, samples * 2 / 3, samples, 0.7, 0.1, 2, 2, 1},
		{"requests blocked but using the cores: holds", 2, 2, 10, samples / 2, samples, 0.92, 0.6, 4, 2, 2},
		{"GIL busy, several in C: one less", 4, 4, 10, samples, samples, 0.9, 0.5, 8, 4, 3},
		{"GIL half busy, requests use over a core: one less", 4, 4, 10, samples / 2, samples, 1.2, 0.1, 8, 4, 3},
		{"a convoy: one less, though blocked", 2, 2, 10, samples * 2 / 3, samples, 0.6, 0.6, 100, 5, 1},
		{"GIL busy, one in C: stays at one", 1, 1, 10, samples, samples, 1, 0, 2, 2, 1},
		{"GIL busy, limit above those in C: down to them, less one", 16, 3, 0, samples, 0, 0.9, 0.1, 6, 3, 2},
		{"never above the demand", 8, 2, 1, 0, samples, 0.05, 0.95, 4, 2, 3},
		{"GIL busy 90%: holds", 2, 2, 10, samples * 9 / 10, samples, 0.8, 0.5, 4, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(func() int { return 1 }, noSwitches)
			g.mu.Lock()
			defer g.mu.Unlock()
			defer func() { g.running, g.queue = 0, nil }() // the watcher then ends
			g.limit, g.running = tc.limit, tc.running
			for i := 0; i < tc.queue; i++ {
				g.queue = append(g.queue, newWaiter())
			}
			g.samples, g.busy, g.queued = samples, tc.busy, tc.queued
			g.adapt(tc.cores, tc.blocked, tc.switches, tc.done)
			if g.limit != tc.want {
				t.Fatalf("limit %d, want %d", g.limit, tc.want)
			}
			if adm := min(tc.queue, max(0, tc.want-tc.running)); g.running != tc.running+adm {
				t.Fatalf("running %d after adapt, want %d", g.running, tc.running+adm)
			}
		})
	}
}
