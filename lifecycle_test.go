package wsgi_test

// An App's life: loading it from a spec, failing to (with the traceback,
// as the error types of package wsgi), and closing it.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
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

func TestAppClose(t *testing.T) {
	rec := newRecorder()
	app, err := wsgi.New("rawapp:app", wsgi.WithPythonPath(testdataDir), wsgi.WithThreads(2),
		wsgi.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, app)

	slowDone := make(chan string, 1)
	go func() {
		resp, err := client.Get(srv.URL + "/sleep?t=0.6")
		if err != nil {
			slowDone <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slowDone <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	time.Sleep(200 * time.Millisecond) // the slow request is in Python

	// A Close whose deadline ends first reports the request still running.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err = app.Close(short)
	cancel()
	if err == nil {
		t.Error("Close returned nil while a request was still in Python past its deadline")
	}
	// Now closed: new requests are refused, the running one finishes.
	if resp, body := get(t, srv.URL+"/head"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a request after Close: %s %q, want 503", resp.Status, body)
	}
	if got := <-slowDone; got != "200 slept\n" {
		t.Errorf("the request in flight during Close got %q, want it to finish (200 slept)", got)
	}
	err = app.Close(context.Background())
	if err != nil && !errors.Is(err, wsgi.ErrClosed) {
		t.Errorf("Close after the requests ended: %v", err)
	}
	if err := app.Close(context.Background()); !errors.Is(err, wsgi.ErrClosed) {
		t.Errorf("a second Close: %v, want ErrClosed", err)
	}
}

// TestErrorsAfterClose: a line written, through a wsgi.errors an app kept,
// after its App was closed goes to stderr; it does not take the process
// down with a panic through Python's frames.
func TestErrorsAfterClose(t *testing.T) {
	inProcessOnly(t)
	first, err := wsgi.New("keptstreams:keep", wsgi.WithPythonPath(testdataDir), wsgi.WithLogger(slog.New(newRecorder())))
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, serve(t, first).URL+"/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the first App: %s %q", resp.Status, body)
	}
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, err := wsgi.New("keptstreams:write", wsgi.WithPythonPath(testdataDir), wsgi.WithLogger(slog.New(newRecorder())))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close(context.Background())
	if resp, body := get(t, serve(t, second).URL+"/"); resp.StatusCode != http.StatusOK || string(body) != "wrote\n" {
		t.Errorf("writing to the closed App's wsgi.errors: %s %q, want 200 wrote", resp.Status, body)
	}
}
