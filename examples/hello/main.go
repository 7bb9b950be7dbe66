// Command hello serves a bare Python WSGI app (app.py) and a Go route from
// one Go mux: /go is answered by Go, every other path falls through to
// Python.
//
//	go run ./examples/hello            # from the repository root
//	curl http://127.0.0.1:8080/        # Python
//	curl http://127.0.0.1:8080/go      # Go
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
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
	pydir := flag.String("pydir", defaultPyDir(), "directory holding app.py")
	flag.Parse()

	h, err := newServer(*pydir)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Printf("hello: serving on http://%s/ (Python %s)", *addr, wsgi.PythonVersion())
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wsgi.Shutdown(sctx); err != nil {
		log.Fatal(err)
	}
}

// newServer is the whole program minus the listener: the tests serve it
// with httptest.
func newServer(pydir string) (http.Handler, error) {
	app, err := wsgi.New("app:app", wsgi.WithPythonPath(pydir))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /go", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Hello from Go!")
	})
	mux.Handle("/", app) // everything else: Python, with SCRIPT_NAME ""
	return mux, nil
}

// defaultPyDir finds app.py beside this source file, which works for
// `go run ./examples/hello` from anywhere in the repository and for
// `go test`; a binary moved elsewhere falls back to examples/hello or the
// working directory (or pass -pydir).
func defaultPyDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		if dir := filepath.Dir(file); exists(filepath.Join(dir, "app.py")) {
			return dir
		}
	}
	if exists(filepath.Join("examples", "hello", "app.py")) {
		return filepath.Join("examples", "hello")
	}
	return "."
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
