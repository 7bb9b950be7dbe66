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

// TestGILLockedWhileComputing checks that gilLocked reads the real flag
// of this Python's GIL: it must say "held" while a request computes in
// Python, and "free" once it is over.
func TestGILLockedWhileComputing(t *testing.T) {
	if err := Start(Config{}); err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata")
	a, err := Load("spinapp:app", AppOptions{PythonPath: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c := a.NewCall()
	defer c.Free()

	r := httptest.NewRequest("GET", "/", nil)
	rec := httptest.NewRecorder()
	var w response.Writer
	w.Reset(rec, r)
	env, flags := environ.Build(nil, r, &environ.Options{})
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background(), env, flags, nil, nil, &w) }()

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
	if err := w.Finish(); err != nil {
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
	dir, _ := filepath.Abs("testdata")
	a, err := Load("spinapp:app", AppOptions{PythonPath: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c := a.NewCall()
	defer c.Free()

	g := gate{tok: make(chan struct{}, 1), pass: make(chan struct{})}
	if !g.enter() {
		t.Fatal("enter with the token free did not take it")
	}
	defer g.leave(true)

	// Keep the GIL busy for 0.3 s, then queue a request at g.
	r := httptest.NewRequest("GET", "/", nil)
	var w response.Writer
	w.Reset(httptest.NewRecorder(), r)
	env, flags := environ.Build(nil, r, &environ.Options{})
	spun := make(chan error, 1)
	go func() { spun <- c.Run(context.Background(), env, flags, nil, nil, &w) }()
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
