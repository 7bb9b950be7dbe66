// Command frameworks mounts three WSGI apps, each on another framework, in
// one Go mux: Pyramid under /pyramid/, Falcon under /falcon/ and Bottle
// under /bottle/. Nothing in gowsgi is specific to Flask or Django.
//
//	go run ./examples/frameworks
//	curl http://127.0.0.1:8080/pyramid/hello/you
//	curl -d 'some data' http://127.0.0.1:8080/falcon/echo
//	curl -N 'http://127.0.0.1:8080/bottle/stream?n=5&delay=0.5'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
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

// mounts lists the apps: mount prefix → WSGI spec, in the order shown.
var mounts = []struct{ Prefix, Spec, Framework string }{
	{"/pyramid/", "pyramid_app:app", "Pyramid"},
	{"/falcon/", "falcon_app:app", "Falcon"},
	{"/bottle/", "bottle_app:app", "Bottle"},
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	pydir := flag.String("pydir", defaultPyDir(), "directory holding the *_app.py files")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h, err := newServer(*pydir, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "frameworks:", err)
		os.Exit(1)
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
	logger.Info("frameworks: serving", "url", "http://"+*addr+"/", "python", wsgi.PythonVersion())
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "frameworks:", err)
		os.Exit(1)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wsgi.Shutdown(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "frameworks:", err)
		os.Exit(1)
	}
}

var index = template.Must(template.New("index").Parse(`<!doctype html>
<title>gowsgi: three frameworks</title>
<h1>Three WSGI frameworks, one Go server</h1>
<ul>{{range .}}
  <li>{{.Framework}} at <a href="{{.Prefix}}hello/world">{{.Prefix}}</a>:
      <a href="{{.Prefix}}stream?n=5&amp;delay=0.5">a streamed response</a>,
      POST {{.Prefix}}echo echoes its body</li>{{end}}
</ul>
`))

// newServer mounts every app of mounts on one mux, plus an index page.
func newServer(pydir string, logger *slog.Logger) (http.Handler, error) {
	mux := http.NewServeMux()
	for _, m := range mounts {
		app, err := wsgi.New(m.Spec,
			wsgi.WithPythonPath(pydir),
			wsgi.WithThreads(4),
			wsgi.WithLogger(logger.With("app", m.Framework)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Framework, err)
		}
		mux.Handle(m.Prefix, app) // SCRIPT_NAME is the prefix without its slash
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		index.Execute(w, mounts)
	})
	return mux, nil
}

// defaultPyDir is the directory of this source file (go run, go test), or
// examples/frameworks under the working directory.
func defaultPyDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		if dir := filepath.Dir(file); exists(filepath.Join(dir, "bottle_app.py")) {
			return dir
		}
	}
	if dir := filepath.Join("examples", "frameworks"); exists(filepath.Join(dir, "bottle_app.py")) {
		return dir
	}
	return "."
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
