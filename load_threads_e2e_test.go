package wsgi_test

// Loading apps from specs (and failing to, with the traceback), Python
// threads, concurrency and the threading flags.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

func TestNewImportErrors(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []string
	}{
		{"gowsgi_no_such_module:app", []string{"ModuleNotFoundError", "gowsgi_no_such_module"}},
		{"factory:no_such_attr", []string{"AttributeError", "no_such_attr"}},
		{"specpkg.mod:obj.nope", []string{"AttributeError", "nope"}},
		{"factory:not_callable", []string{"TypeError", "not callable"}},
		{"broken_syntax:app", []string{"SyntaxError", "broken_syntax.py"}},
		{"broken_import:app", []string{"ModuleNotFoundError", "gowsgi_test_no_such_dependency", "broken_import.py"}},
		{"broken_raise:app", []string{"RuntimeError: broken_raise refuses to load", "broken_raise.py", "in _fail"}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			app, err := wsgi.New(tc.spec, wsgi.WithPythonPath(testdataDir))
			if err == nil {
				app.Close(context.Background())
				t.Fatalf("wsgi.New(%q) succeeded, want an error", tc.spec)
			}
			msg := err.Error()
			if !strings.Contains(msg, "Traceback (most recent call last)") && tc.want[0] != "SyntaxError" {
				t.Errorf("the error has no Python traceback:\n%s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the error does not mention %q:\n%s", w, msg)
				}
			}
			if !strings.Contains(msg, tc.spec) {
				t.Errorf("the error does not name the spec %q:\n%s", tc.spec, msg)
			}
		})
	}
}

func TestHandlerPanicsWithTraceback(t *testing.T) {
	defer func() {
		v := recover()
		if v == nil {
			t.Fatal("wsgi.Handler did not panic for a missing module")
		}
		msg := fmt.Sprint(v)
		if err, ok := v.(error); ok {
			msg = err.Error()
		}
		for _, w := range []string{"Traceback (most recent call last)", "RuntimeError: broken_raise refuses to load"} {
			if !strings.Contains(msg, w) {
				t.Errorf("the panic does not contain %q:\n%s", w, msg)
			}
		}
	}()
	wsgi.Handler("broken_raise:app", wsgi.WithPythonPath(testdataDir))
}

// TestNewErrorTypes: a caller tells New's errors apart with package wsgi
// alone.
func TestNewErrorTypes(t *testing.T) {
	_, err := wsgi.New("broken_raise:app", wsgi.WithPythonPath(testdataDir))
	var le *wsgi.LoadError
	if !errors.As(err, &le) || le.Spec != "broken_raise:app" || !strings.Contains(le.Traceback, "RuntimeError: broken_raise refuses to load") {
		t.Errorf("New(broken_raise:app) = %v, want a *wsgi.LoadError with the spec and the traceback", err)
	}
}

// TestNewOtherVenv: the venv is the process's, so an App asking for
// another than the running interpreter's is refused, saying what to do.
func TestNewOtherVenv(t *testing.T) {
	inProcessOnly(t)
	loadApp(t, "hello:app") // Python runs, in this process's venv if any
	app, err := wsgi.New("hello:app", wsgi.WithPythonPath(testdataDir), wsgi.WithVenv(t.TempDir()))
	if err == nil {
		app.Close(context.Background())
		t.Fatal("New with another WithVenv than the running interpreter's succeeded")
	}
	if !errors.Is(err, wsgi.ErrOtherVenv) {
		t.Errorf("New with another venv: %v, want an error wrapping wsgi.ErrOtherVenv", err)
	}
	for _, w := range []string{"same WithVenv", "WithProcesses"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not say %q:\n%s", w, err)
		}
	}
}

func TestSpecForms(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"specpkg.mod:obj.app", "specpkg.mod obj.app"},
		{"specpkg.bare", "specpkg.bare application"},
		{"factory:create_app('prod')", "factory env=prod debug=False"},
		{`factory:create_app("staging", debug=True)`, "factory env=staging debug=True"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			app, _ := loadApp(t, tc.spec)
			srv := serve(t, app)
			resp, body := get(t, srv.URL+"/")
			if resp.StatusCode != 200 || string(body) != tc.want {
				t.Errorf("got %s %q, want 200 %q", resp.Status, body, tc.want)
			}
		})
	}
	t.Run("Handler", func(t *testing.T) {
		srv := serve(t, wsgi.Handler("specpkg.mod:obj.app", wsgi.WithPythonPath(testdataDir)))
		if _, body := get(t, srv.URL+"/"); string(body) != "specpkg.mod obj.app" {
			t.Errorf("got %q", body)
		}
	})
}

func TestPythonThreads(t *testing.T) {
	srv, _ := validatedServer(t)
	key := newCloseID(t)
	if resp, body := get(t, srv.URL+"/thread_start?key="+key); resp.StatusCode != 200 {
		t.Fatalf("%s %s", resp.Status, body)
	}
	// The thread runs while no request is in Python and sets a result a
	// later request reads.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var r struct{ Result *string }
		getJSON(t, srv.URL+"/thread_result?key="+key, &r)
		if r.Result != nil {
			if want := "done by worker-" + key; *r.Result != want {
				t.Errorf("result %q, want %q", *r.Result, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the Python thread started by a request never ran to its end")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConcurrency(t *testing.T) {
	srv, _ := validatedServer(t, wsgi.WithThreads(16))
	// Warm up: connections and the first request's one-time costs.
	get(t, srv.URL+"/sleep?t=0")

	const n = 16
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(srv.URL + "/sleep?t=0.2")
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- resp.Status
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// Run one after another they would take 3.2 s.
	if elapsed > 1600*time.Millisecond {
		t.Errorf("16 requests sleeping 0.2 s each took %v with 16 threads; want well under 3.2 s", elapsed)
	}
	t.Logf("16 × 0.2 s took %v", elapsed)
}

func TestMultithreadFlag(t *testing.T) {
	for _, tc := range []struct {
		name         string
		opts         []wsgi.Option
		thread, proc bool
	}{
		{"WithThreads(1)", []wsgi.Option{wsgi.WithThreads(1)}, false, false},
		{"WithThreads(4)", []wsgi.Option{wsgi.WithThreads(4)}, true, false},
		{"default", nil, true, false},
		{"WithMultiprocess", []wsgi.Option{wsgi.WithThreads(1), wsgi.WithMultiprocess(true)}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := validatedServer(t, tc.opts...)
			var r struct {
				Multithread  any `json:"multithread"`
				Multiprocess any `json:"multiprocess"`
				RunOnce      any `json:"run_once"`
			}
			getJSON(t, srv.URL+"/multithread", &r)
			if r.Multithread != tc.thread || r.Multiprocess != tc.proc || r.RunOnce != false {
				t.Errorf("wsgi.multithread=%v multiprocess=%v run_once=%v, want %v %v false",
					r.Multithread, r.Multiprocess, r.RunOnce, tc.thread, tc.proc)
			}
		})
	}
}

func TestQueueTimeout(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithThreads(1), wsgi.WithQueueTimeout(100*time.Millisecond))
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := client.Get(srv.URL + "/sleep?t=1")
		if err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(300 * time.Millisecond) // the one slot is taken
	resp, body := get(t, srv.URL+"/sleep?t=0")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("with the only thread busy: got %s (Retry-After %q) %q, want 503 with Retry-After",
			resp.Status, resp.Header.Get("Retry-After"), body)
	}
	<-done
}
