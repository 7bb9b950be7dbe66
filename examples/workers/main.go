// Command workers serves a Python WSGI app from worker processes
// (wsgi.WithProcesses) beside a Go route: Python uses every core, a crash
// in Python's C code costs one request instead of the Go service, and
// SIGHUP reloads the Python code without dropping a request. The Go
// program needs nothing else for it: the workers are this same executable,
// recognised by package wsgi before main runs.
//
//	go run ./examples/workers                 # from the repository root
//	curl http://127.0.0.1:8080/               # Python, in a worker process
//	curl http://127.0.0.1:8080/crash          # 502: that worker died, another takes its place
//	curl http://127.0.0.1:8080/go             # Go, in this process
//	kill -HUP <pid>                           # re-import app.py in new workers
//
// The benchmark suite (bench/) runs this program as its "gowsgi library"
// contender: -spec and -pydir serve another app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/gowsgi/wsgi"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	pydir := flag.String("pydir", defaultPyDir(), "directory of the Python app")
	spec := flag.String("spec", "app:app", "the WSGI app, module:attr")
	procs := flag.Int("processes", runtime.NumCPU(), "worker processes")
	flag.Parse()

	app, h, err := newServer(*spec, *pydir, *procs)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			if err := app.Reload(context.Background()); err != nil {
				slog.Error("reload failed; the old workers go on serving", "err", err)
			}
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Printf("workers: serving on http://%s/ with %d Python worker processes", *addr, app.Processes())
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wsgi.Shutdown(sctx); err != nil {
		log.Fatal(err)
	}
}

// newServer is the whole program minus the listener and the signals: the
// tests serve it with httptest.
func newServer(spec, pydir string, processes int) (*wsgi.App, http.Handler, error) {
	app, err := wsgi.New(spec, wsgi.WithPythonPath(pydir), wsgi.WithProcesses(processes))
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /go", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Hello from Go, process %d\n", os.Getpid())
	})
	mux.Handle("/", app)
	return app, mux, nil
}

// defaultPyDir finds app.py beside this source file (go run, go test), or
// in examples/workers or the working directory.
func defaultPyDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		if dir := filepath.Dir(file); exists(filepath.Join(dir, "app.py")) {
			return dir
		}
	}
	if exists(filepath.Join("examples", "workers", "app.py")) {
		return filepath.Join("examples", "workers")
	}
	return "."
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
