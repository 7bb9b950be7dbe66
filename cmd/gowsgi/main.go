// Command gowsgi serves a Python WSGI application over HTTP, like gunicorn,
// with the app running in an embedded CPython inside one Go process.
//
//	gowsgi --bind 127.0.0.1:8000 --threads 8 app:app
//	gowsgi --chdir ./site --pythonpath ./lib --bind :8000 "factory:create_app()"
//
// The app is served at the root, without path cleaning or redirects in
// front of it. SIGTERM or SIGINT stops the server gracefully: requests in
// flight finish (up to --graceful-timeout), then Python's atexit handlers run.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/gowsgi/wsgi"
)

type config struct {
	binds      []string
	threads    int
	fixed      bool
	chdir      string
	pythonPath []string
	venv       string
	logLevel   string
	graceful   time.Duration
	keepAlive  time.Duration
	workers    int
	maxReqs    int
	maxJitter  int
	maxMemMiB  int64
	certFile   string
	keyFile    string
	spec       string
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gowsgi:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "gowsgi:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := pflag.NewFlagSet("gowsgi", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringArrayVarP(&cfg.binds, "bind", "b", []string{"127.0.0.1:8000"},
		"address to listen on: HOST:PORT, :PORT or unix:PATH (repeatable)")
	fs.IntVarP(&cfg.workers, "workers", "w", 1, "worker processes, each with its own Python interpreter (and GIL), supervised by this one")
	fs.IntVar(&cfg.maxReqs, "max-requests", 0, "recycle a worker after this many requests (0: never); implies worker processes")
	fs.IntVar(&cfg.maxJitter, "max-requests-jitter", 0, "add a random 0 to N requests to each worker's --max-requests")
	fs.Int64Var(&cfg.maxMemMiB, "max-worker-memory", 0, "recycle a worker whose resident memory passes this many MiB (0: never); implies worker processes")
	fs.IntVar(&cfg.threads, "threads", wsgi.DefaultThreads, "most requests run in Python at once (the scheduler adapts how many do, up to this)")
	fs.BoolVar(&cfg.fixed, "fixed-threads", false, "run --threads requests in Python at once, always, instead of adapting how many")
	fs.StringVar(&cfg.chdir, "chdir", "", "change to this directory before loading the app")
	fs.StringSliceVar(&cfg.pythonPath, "pythonpath", nil, "directories to put first on sys.path (comma-separated, repeatable)")
	fs.StringVar(&cfg.venv, "venv", "", "virtual environment to run in (default $VIRTUAL_ENV)")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "debug, info, warning, error or critical")
	fs.DurationVar(&cfg.graceful, "graceful-timeout", 30*time.Second, "how long requests in flight may take to finish on stop")
	fs.DurationVar(&cfg.keepAlive, "keep-alive", 75*time.Second, "how long an idle keep-alive connection stays open")
	fs.StringVar(&cfg.certFile, "certfile", "", "TLS certificate file (serves HTTPS and HTTP/2)")
	fs.StringVar(&cfg.keyFile, "keyfile", "", "TLS key file")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gowsgi [flags] MODULE:APP\n\nServes the WSGI app MODULE:APP (attr may be dotted or a call like \"create_app('prod')\").\n\nflags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, fmt.Errorf("want one app spec like app:app, got %d arguments", fs.NArg())
	}
	cfg.spec = fs.Arg(0)
	if (cfg.certFile == "") != (cfg.keyFile == "") {
		return nil, errors.New("--certfile and --keyfile go together")
	}
	return cfg, nil
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warning", "warn":
		return slog.LevelWarn, nil
	case "error", "critical":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown --log-level %q: want debug, info, warning, error or critical", s)
}

func run(cfg *config) error {
	level, err := parseLevel(cfg.logLevel)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if cfg.chdir != "" {
		if err := os.Chdir(cfg.chdir); err != nil {
			return fmt.Errorf("--chdir: %w", err)
		}
	}
	listeners, err := listenAll(cfg.binds)
	if err != nil {
		return err
	}
	defer removeSockets(cfg.binds)
	threads := wsgi.WithThreads(cfg.threads)
	if cfg.fixed {
		threads = wsgi.WithFixedThreads(cfg.threads)
	}
	opts := []wsgi.Option{threads, wsgi.WithPythonPath(cfg.pythonPath...), wsgi.WithVenv(cfg.venv), wsgi.WithLogger(logger)}
	if cfg.processes() {
		// This process parses HTTP and hands each request to the worker
		// with the fewest in flight (see bench/NOTES.md for why not a
		// listener shared by the workers).
		opts = append(opts, wsgi.WithProcesses(cfg.workers), wsgi.WithMaxRequests(cfg.maxReqs),
			wsgi.WithMaxRequestsJitter(cfg.maxJitter), wsgi.WithMaxWorkerMemory(cfg.maxMemMiB<<20))
	}
	app, err := wsgi.New(cfg.spec, opts...)
	if err != nil {
		return err
	}
	go control(app, logger)
	srv := &http.Server{
		Handler:           app, // no ServeMux: the app sees the path as sent
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       cfg.keepAlive,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if cfg.certFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.certFile, cfg.keyFile)
		if err != nil {
			return fmt.Errorf("loading TLS certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, len(listeners))
	var wg sync.WaitGroup
	// Decided once: the first Serve sets srv.TLSConfig (for HTTP/2), and a
	// later listener must not take that for --certfile.
	useTLS := srv.TLSConfig != nil
	for _, ln := range listeners {
		logger.Info("listening", "addr", ln.Addr().String(), "app", cfg.spec, "workers", app.Processes(),
			"threads", cfg.threads, "python", wsgi.PythonVersion())
		wg.Add(1)
		go func(ln net.Listener) {
			defer wg.Done()
			var err error
			if useTLS {
				err = srv.ServeTLS(ln, "", "")
			} else {
				// Refuses requests whose framing a proxy could read
				// otherwise (see framing.go).
				err = srv.Serve(framingListener{ln})
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}(ln)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("stopping: waiting for requests in flight", "timeout", cfg.graceful)
	case serveErr = <-errc:
		logger.Error("serving failed; stopping", "err", serveErr)
	}
	stop() // a second signal kills at once
	sctx, cancel := context.WithTimeout(context.Background(), cfg.graceful)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("requests still running at the graceful timeout", "err", err)
		srv.Close()
	}
	wg.Wait()
	removeSockets(cfg.binds)
	// Finalizing joins the app's non-daemon Python threads; one that never
	// ends must not keep the process alive past the graceful timeout.
	done := make(chan error, 1)
	go func() { done <- wsgi.Shutdown(sctx) }()
	select {
	case err := <-done:
		if err != nil {
			logger.Warn("Python not finalized", "err", err)
		}
	case <-sctx.Done():
		logger.Error("Python did not finalize within the graceful timeout (a non-daemon thread still running?); exiting")
		os.Exit(1)
	}
	return serveErr
}

// processes reports whether the app runs in worker processes: for
// --workers above 1, and for recycling, which needs a process to replace.
func (cfg *config) processes() bool {
	return cfg.workers > 1 || cfg.maxReqs > 0 || cfg.maxMemMiB > 0
}

// control acts on the signals gunicorn's users know: SIGHUP reloads the
// app (new workers, then the old ones drain), SIGTTIN and SIGTTOU add or
// remove a worker. An app in this process can do neither: the signal is
// logged and ignored rather than ending the server.
func control(app *wsgi.App, logger *slog.Logger) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGHUP, syscall.SIGTTIN, syscall.SIGTTOU)
	for sig := range ch {
		if app.Processes() == 0 {
			logger.Warn("signal ignored: reloading and resizing need worker processes (--workers 2 or more)", "signal", sig)
			continue
		}
		var err error
		switch sig {
		case syscall.SIGHUP:
			logger.Info("SIGHUP: reloading the app")
			err = app.Reload(context.Background())
		case syscall.SIGTTIN:
			err = app.SetProcesses(context.Background(), app.Processes()+1)
		case syscall.SIGTTOU:
			err = app.SetProcesses(context.Background(), app.Processes()-1)
		}
		if err != nil {
			logger.Error("signal failed", "signal", sig, "err", err)
		} else if sig != syscall.SIGHUP {
			logger.Info("workers", "signal", sig, "workers", app.Processes())
		}
	}
}

// removeSockets removes the socket files of unix: binds.
func removeSockets(binds []string) {
	for _, b := range binds {
		if path, ok := strings.CutPrefix(b, "unix:"); ok {
			os.Remove(path)
		}
	}
}

// listenAll opens every --bind address: HOST:PORT, :PORT or unix:PATH.
func listenAll(binds []string) ([]net.Listener, error) {
	var out []net.Listener
	for _, b := range binds {
		ln, err := listen(b)
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, err
		}
		out = append(out, ln)
	}
	return out, nil
}

func listen(bind string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(bind, "unix:"); ok {
		// A socket file left by a previous run would make Listen fail.
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(path)
		}
		return net.Listen("unix", path)
	}
	if !strings.Contains(bind, ":") {
		bind += ":8000"
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("--bind %s: %w", bind, err)
	}
	return ln, nil
}

func init() { log.SetFlags(0) }
