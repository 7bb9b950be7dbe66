package interp

import (
	"context"
	"net/http/httptest"
	"path/filepath"
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
		err := c.Run(context.Background(), env, flags, nil, nil, w)
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

func TestGateEnter(t *testing.T) {
	if err := Start(Config{}); err != nil {
		t.Fatal(err)
	}
	g := gate{tok: make(chan struct{}, 1), pass: make(chan struct{})}

	if !g.enter() {
		t.Fatal("enter with the token free did not take it")
	}
	// The token is held, but nobody holds the GIL: the holder is waiting
	// on I/O, and a second request must go in beside it at once.
	done := make(chan bool)
	go func() { done <- g.enter() }()
	select {
	case took := <-done:
		if took {
			t.Fatal("second enter took a token that was held")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("enter queued behind a holder while the GIL was free")
	}
	g.leave(true)
	if !g.enter() {
		t.Fatal("enter after leave did not take the token")
	}
	g.leave(true)
}

// TestGatePassesWhenGILFrees: a request that queued while the GIL was busy
// goes in beside the token's holder once the GIL is free (the holder now
// waiting on I/O), without waiting for the token.
func TestGatePassesWhenGILFrees(t *testing.T) {
	if err := Start(Config{}); err != nil {
		t.Fatal(err)
	}
	g := gate{tok: make(chan struct{}, 1), pass: make(chan struct{})}
	if !g.enter() {
		t.Fatal("enter with the token free did not take it")
	}
	defer g.leave(true)

	// Keep the GIL busy for 0.3 s, then queue a request at g.
	spun, _ := spin(t)
	for gilLocked() != 1 {
		time.Sleep(time.Millisecond)
	}
	entered := make(chan bool, 1)
	go func() { entered <- g.enter() }()

	select {
	case took := <-entered:
		if took {
			t.Fatal("the waiter took a token that was held")
		}
		if err := <-spun; err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter was not let in after the GIL came free")
	}
}
