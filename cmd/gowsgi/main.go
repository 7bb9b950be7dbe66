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
	"github.com/gowsgi/wsgi/environ"
	"github.com/gowsgi/wsgi/framing"
)

type config struct {
	binds      []string
	threads    int
	fixed      bool
	chdir      string
	pythonPath []string
	venv       string
	logLevel   string
	graceful   seconds
	keepAlive  seconds
	timeout    seconds
	queueWait  seconds
	limits     wsgi.RequestLimits
	maxBody    int64
	umask      octal
	pidFile    string
	proxies    string
	schemes    map[string]string
	workers    int
	maxReqs    int
	maxJitter  int
	maxMemMiB  int64
	certFile   string
	keyFile    string
	static     []string // --static URL_PREFIX=DIR
	staticAge  seconds  // --static-max-age
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
	cfg.graceful, cfg.keepAlive, cfg.timeout, cfg.queueWait = seconds(30*time.Second), seconds(75*time.Second), seconds(30*time.Second), seconds(wsgi.DefaultQueueTimeout)
	fs.Var(&cfg.graceful, "graceful-timeout", "how long requests in flight may take to finish on stop (seconds, or a duration like 1m30s)")
	fs.Var(&cfg.keepAlive, "keep-alive", "how long an idle keep-alive connection stays open")
	fs.VarP(&cfg.timeout, "timeout", "t", "how long a request may run before it is interrupted and answered 504 (0: no limit)")
	fs.Var(&cfg.queueWait, "queue-timeout", "how long a request may wait for a Python thread before it is answered 503")
	cfg.limits = wsgi.DefaultRequestLimits
	fs.IntVar(&cfg.limits.Line, "limit-request-line", cfg.limits.Line, "most bytes in a request line, else 414 (0: no limit)")
	fs.IntVar(&cfg.limits.Fields, "limit-request-fields", cfg.limits.Fields, "most header fields in a request, else 431 (0: no limit)")
	fs.IntVar(&cfg.limits.FieldSize, "limit-request-field_size", cfg.limits.FieldSize, "most bytes in one header field, else 431 (0: no limit)")
	fs.Int64Var(&cfg.maxBody, "limit-request-body", 0, "most bytes in a request body, else 413 (0: no limit)")
	fs.Var(&cfg.umask, "umask", "mask for the mode of unix: sockets (0: anyone on the machine may connect, as gunicorn)")
	trusted := wsgi.DefaultTrustedProxies
	if v := os.Getenv("FORWARDED_ALLOW_IPS"); v != "" {
		trusted = v
	}
	fs.StringVar(&cfg.proxies, "forwarded-allow-ips", trusted,
		"front-end addresses or CIDRs (comma-separated, or *) whose X-Forwarded-For, X-Forwarded-Proto and Forwarded headers set REMOTE_ADDR and wsgi.url_scheme (default $FORWARDED_ALLOW_IPS)")
	fs.StringToStringVar(&cfg.schemes, "secure-scheme-headers", environ.DefaultSchemeHeaders,
		"headers that, from a trusted front end, mean https: NAME=VALUE,...")
	fs.StringVarP(&cfg.pidFile, "pid", "p", "", "write this process's id to this file while it serves")
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "limit-request-field-size" { // the spelling of the others
			name = "limit-request-field_size"
		}
		return pflag.NormalizedName(name)
	})
	fs.StringArrayVar(&cfg.static, "static", nil,
		"`URL_PREFIX=DIR`: serve the files in DIR (relative to --chdir) for the paths under URL_PREFIX, in front of the app, like /static=./static (repeatable); "+
			"a path under the prefix with no file is 404 from gowsgi and never reaches the app, a directory is 404 (no listings, no index.html), methods but GET and HEAD are 405; "+
			"a NAME.br or NAME.gz beside NAME is sent to clients that accept it")
	fs.Var(&cfg.staticAge, "static-max-age", "Cache-Control max-age for --static files (0: no Cache-Control; clients revalidate with ETag and Last-Modified)")
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
	routes, err := parseStatic(cfg.static)
	if err != nil {
		return err
	}
	listeners, err := listenAll(cfg.binds, uint32(cfg.umask))
	if err != nil {
		return err
	}
	defer removeSockets(listeners)
	if cfg.pidFile != "" {
		if err := writePid(cfg.pidFile); err != nil {
			return err
		}
		defer os.Remove(cfg.pidFile)
	}
	threads := wsgi.WithThreads(cfg.threads)
	if cfg.fixed {
		threads = wsgi.WithFixedThreads(cfg.threads)
	}
	opts := []wsgi.Option{threads, wsgi.WithPythonPath(cfg.pythonPath...), wsgi.WithVenv(cfg.venv), wsgi.WithLogger(logger),
		wsgi.WithTimeout(time.Duration(cfg.timeout)), wsgi.WithQueueTimeout(time.Duration(cfg.queueWait)),
		wsgi.WithRequestLimits(cfg.limits), wsgi.WithMaxRequestBody(cfg.maxBody),
		wsgi.WithTrustedProxies(cfg.proxies), wsgi.WithSecureSchemeHeaders(cfg.schemes)}
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
	var handler http.Handler = app // no ServeMux: the app sees the path as sent
	if len(routes) > 0 {
		handler = &statics{routes: routes, maxAge: time.Duration(cfg.staticAge), next: app}
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       time.Duration(cfg.keepAlive),
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
				// otherwise (see package framing).
				err = srv.Serve(framing.Guard(ln))
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}(ln)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("stopping: waiting for requests in flight", "timeout", time.Duration(cfg.graceful))
	case serveErr = <-errc:
		logger.Error("serving failed; stopping", "err", serveErr)
	}
	stop() // a second signal kills at once
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.graceful))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("requests still running at the graceful timeout", "err", err)
		srv.Close()
	}
	wg.Wait()
	removeSockets(listeners)
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

func init() { log.SetFlags(0) }
