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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

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
	maxQueue   int

	interruptGone bool
	limits        wsgi.RequestLimits
	maxBody       int64
	umask         octal
	pidFile       string
	proxies       string
	schemes       map[string]string
	workers       int
	maxReqs       int
	maxJitter     int
	maxMemMiB     int64
	certFile      string
	keyFile       string
	accessFile    string
	accessFmt     string
	metrics       string
	static        []string // --static URL_PREFIX=DIR
	staticAge     seconds  // --static-max-age
	spec          string

	workerClass   string
	backlog       int
	reusePort     bool
	proxyProtocol string
	proxyAllow    string
	env           []string
	user, group   string
	initgroups    bool
	errorLog      string
	captureOutput bool
	checkConfig   bool
	printConfig   bool
	configFile    string
	reload        bool
	reloadEngine  string
	reloadExtra   []string
	warnings      []string // about flags that were ignored
}

func main() {
	if settingsChild() {
		return
	}
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
	fs := newFlagSet(cfg, stderr)
	// The layers, as gunicorn: the config file, then $GUNICORN_CMD_ARGS,
	// then the command line; a layer's --bind replaces the one before's
	// rather than adding to it.
	envArgs, from, err := cmdArgs()
	if err != nil {
		return nil, err
	}
	binds := cfg.binds
	var fileSpec string
	var warnings []string
	if path := configPath(args, envArgs); path != "" {
		sf, err := readConfig(path)
		if err != nil {
			return nil, err
		}
		cfg.binds = nil
		if fileSpec, warnings, err = applySettings(fs, path, sf); err != nil {
			return nil, err
		}
		if len(cfg.binds) > 0 {
			binds = cfg.binds
		}
	}
	if len(envArgs) > 0 {
		cfg.binds = nil
		if err := fs.Parse(envArgs); err != nil {
			return nil, fmt.Errorf("$%s: %w", from, err)
		}
		if fs.NArg() > 0 {
			return nil, fmt.Errorf("$%s: %q is not a flag (the app spec goes on the command line)", from, fs.Arg(0))
		}
		if len(cfg.binds) > 0 {
			binds = cfg.binds
		}
	}
	cfg.binds = nil
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if len(cfg.binds) == 0 {
		cfg.binds = binds
	}
	if cfg.warnings, err = checkForeignFlags(fs); err != nil {
		return nil, err
	}
	cfg.warnings = append(warnings, cfg.warnings...)
	if err := workerClass(cfg.workerClass); err != nil {
		return nil, err
	}
	for _, kv := range cfg.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("--env %q: want NAME=VALUE", kv)
		}
	}
	if cfg.backlog <= 0 {
		return nil, fmt.Errorf("--backlog %d: want a positive count", cfg.backlog)
	}
	if cfg.printConfig {
		printConfig(fs, os.Stdout)
		return nil, pflag.ErrHelp
	}
	switch {
	case fs.NArg() == 1:
		cfg.spec = fs.Arg(0)
	case fs.NArg() == 0 && fileSpec != "":
		cfg.spec = fileSpec
	default:
		fs.Usage()
		return nil, fmt.Errorf("want one app spec like app:app (or wsgi_app in --config), got %d arguments", fs.NArg())
	}
	if _, err := parseAccessFormat(cfg.accessFmt); err != nil {
		return nil, err
	}
	if (cfg.certFile == "") != (cfg.keyFile == "") {
		return nil, errors.New("--certfile and --keyfile go together")
	}
	return cfg, nil
}

// newFlagSet defines the command's flags, gunicorn's among them, over cfg.
func newFlagSet(cfg *config, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("gowsgi", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	bind := "127.0.0.1:8000"
	if port := os.Getenv("PORT"); port != "" { // as gunicorn, for platforms that set it
		bind = "0.0.0.0:" + port
	}
	fs.StringArrayVarP(&cfg.binds, "bind", "b", []string{bind},
		"address to listen on: HOST:PORT, :PORT or unix:PATH (repeatable; default 0.0.0.0:$PORT if $PORT is set)")
	workers := 1
	if n, err := strconv.Atoi(os.Getenv("WEB_CONCURRENCY")); err == nil && n > 0 {
		workers = n
	}
	fs.IntVarP(&cfg.workers, "workers", "w", workers, "worker processes, each with its own Python interpreter (and GIL), supervised by this one (default $WEB_CONCURRENCY, else 1)")
	fs.StringVarP(&cfg.workerClass, "worker-class", "k", "gthread", "gunicorn's worker class: only sync and gthread, which both mean gowsgi's threads")
	fs.IntVar(&cfg.backlog, "backlog", 2048, "most connections the kernel queues before they are accepted")
	fs.BoolVar(&cfg.reusePort, "reuse-port", false, "set SO_REUSEPORT on TCP sockets, so that several servers may listen on one port")
	fs.StringArrayVarP(&cfg.env, "env", "e", nil, "set NAME=VALUE in the environment before the app loads (repeatable)")
	fs.StringVarP(&cfg.user, "user", "u", "", "switch to this user (name or id) once the sockets are open; needs root")
	fs.StringVarP(&cfg.group, "group", "g", "", "switch to this group (name or id) once the sockets are open; needs root")
	fs.BoolVar(&cfg.initgroups, "initgroups", false, "with --user, also take the user's supplementary groups")
	fs.StringVar(&cfg.proxyProtocol, "proxy-protocol", "off", "read the PROXY protocol (v1 or v2, as HAProxy and cloud load balancers send it) from --proxy-allow-from peers: off, or on (v1, v2, auto: the same)")
	fs.Lookup("proxy-protocol").NoOptDefVal = "on"
	fs.StringVar(&cfg.proxyAllow, "proxy-allow-from", "127.0.0.1,::1", "peers (addresses or CIDRs, or *) that may send a PROXY header; from others it closes the connection")
	fs.StringVar(&cfg.errorLog, "error-logfile", "-", "where the server's log goes: a file, appended to, or - for stderr")
	fs.BoolVar(&cfg.captureOutput, "capture-output", false, "send the app's stdout and stderr to --error-logfile too")
	fs.BoolVar(&cfg.checkConfig, "check-config", false, "load the app, then exit: 0 if it loaded, 1 with the traceback if not")
	fs.BoolVar(&cfg.printConfig, "print-config", false, "print the settings in effect, then exit")
	fs.StringVarP(&cfg.configFile, "config", "c", "", "gunicorn's configuration file, Python: its settings (bind = ..., workers = ...) come before $GUNICORN_CMD_ARGS and the command line (default ./gunicorn.conf.py if it exists; python:MODULE for a module)")
	fs.BoolVar(&cfg.reload, "reload", false, "reload the app when a .py file under --chdir or --pythonpath changes (for development; implies a worker process)")
	fs.StringVar(&cfg.reloadEngine, "reload-engine", "auto", "gunicorn's choice of watcher: any value; inotify is always used")
	fs.StringArrayVar(&cfg.reloadExtra, "reload-extra-file", nil, "with --reload, also reload when this file changes (repeatable)")
	addForeignFlags(fs)
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
	fs.VarP(&cfg.timeout, "timeout", "t", "how long a request may run before it is interrupted and answered 504, and one read or write may wait on a slow client (0: no limit)")
	fs.BoolVar(&cfg.interruptGone, "interrupt-on-disconnect", false, "raise ClientDisconnected in a request's Python code as soon as its client closes the connection")
	fs.IntVar(&cfg.maxQueue, "max-queue", wsgi.DefaultMaxQueue, "most requests that may wait for Python beyond those running; past it, 503 with Retry-After at once (0: no bound)")
	fs.Var(&cfg.queueWait, "queue-timeout", "how long a request may wait for a Python thread before it is answered 503")
	cfg.limits = wsgi.DefaultRequestLimits
	fs.IntVar(&cfg.limits.Line, "limit-request-line", cfg.limits.Line, "most bytes in a request line, else 414 (0: no limit)")
	fs.IntVar(&cfg.limits.Fields, "limit-request-fields", cfg.limits.Fields, "most header fields in a request, else 431 (0: no limit)")
	fs.IntVar(&cfg.limits.FieldSize, "limit-request-field_size", cfg.limits.FieldSize, "most bytes in one header field, else 431 (0: no limit)")
	fs.Int64Var(&cfg.maxBody, "limit-request-body", 0, "most bytes in a request body, else 413 (0: no limit)")
	fs.VarP(&cfg.umask, "umask", "m", "mask for the mode of unix: sockets (0: anyone on the machine may connect, as gunicorn)")
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
		switch name {
		case "limit-request-field-size": // the spelling of the others
			name = "limit-request-field_size"
		case "log-file": // gunicorn's other name for it
			name = "error-logfile"
		}
		return pflag.NormalizedName(name)
	})
	fs.StringVar(&cfg.accessFile, "access-logfile", "", "write an access log line a request to this file (- is stdout; default none)")
	fs.StringVar(&cfg.accessFmt, "access-logformat", defaultAccessFormat, "the access log's line, with gunicorn's atoms")
	fs.StringVar(&cfg.metrics, "metrics-bind", "", "serve Prometheus /metrics, /debug/pprof/ and /debug/pystacks on this address (HOST:PORT or unix:PATH), never on --bind's")
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
	return fs
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
	logOut, err := openErrorLog(cfg.errorLog, cfg.captureOutput)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	logWarnings(logger, cfg.warnings)
	for _, kv := range cfg.env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	if cfg.chdir != "" {
		if err := os.Chdir(cfg.chdir); err != nil {
			return fmt.Errorf("--chdir: %w", err)
		}
	}
	routes, err := parseStatic(cfg.static)
	if err != nil {
		return err
	}
	if cfg.checkConfig {
		return checkApp(cfg, logger)
	}
	listeners, err := openListeners(cfg, logger)
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
	// The sockets are open and the pid file written as the user who
	// started the server; then it becomes --user, before Python starts.
	if err := switchUser(cfg, listeners); err != nil {
		return err
	}
	var access *accessLog
	if cfg.accessFile != "" {
		if access, err = openAccessLog(cfg.accessFile, cfg.accessFmt); err != nil {
			return err
		}
		defer access.Close()
	}
	var metricsLn []net.Listener
	if cfg.metrics != "" {
		// Before the app loads, so a port taken fails at once.
		if metricsLn, err = listenAll([]string{cfg.metrics}, listenOptions{umask: uint32(cfg.umask), backlog: cfg.backlog}); err != nil {
			return fmt.Errorf("--metrics-bind: %w", err)
		}
		defer removeSockets(metricsLn)
	}
	opts := cfg.appOptions(logger)
	if access != nil {
		opts = append(opts, wsgi.WithAccessFunc(access.log))
	}
	app, err := wsgi.New(cfg.spec, opts...)
	if err != nil {
		return err
	}
	go control(app, access, logger)
	if metricsLn != nil {
		msrv, err := serveMetrics(metricsLn[0], app, logger)
		if err != nil {
			return err
		}
		defer msrv.Close()
	}
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
	if cfg.reload {
		roots := append([]string{"."}, cfg.pythonPath...)
		go func() {
			if err := watchSources(ctx, app, roots, cfg.reloadExtra, logger); err != nil {
				logger.Error("--reload: cannot watch the app's files", "err", err)
			}
		}()
	}
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

// appOptions are the wsgi options the flags ask for.
func (cfg *config) appOptions(logger *slog.Logger) []wsgi.Option {
	threads := wsgi.WithThreads(cfg.threads)
	if cfg.fixed {
		threads = wsgi.WithFixedThreads(cfg.threads)
	}
	opts := []wsgi.Option{threads, wsgi.WithPythonPath(cfg.pythonPath...), wsgi.WithVenv(cfg.venv), wsgi.WithLogger(logger),
		wsgi.WithTimeout(time.Duration(cfg.timeout)), wsgi.WithQueueTimeout(time.Duration(cfg.queueWait)),
		wsgi.WithIOTimeout(time.Duration(cfg.timeout)), // gunicorn's --timeout bounds a wait on the client too
		wsgi.WithMaxQueue(cfg.maxQueue), wsgi.WithInterruptOnDisconnect(cfg.interruptGone),
		wsgi.WithRequestLimits(cfg.limits), wsgi.WithMaxRequestBody(cfg.maxBody),
		wsgi.WithTrustedProxies(cfg.proxies), wsgi.WithSecureSchemeHeaders(cfg.schemes)}
	if cfg.processes() {
		// This process parses HTTP and hands each request to the worker
		// with the fewest in flight (see bench/NOTES.md for why not a
		// listener shared by the workers).
		opts = append(opts, wsgi.WithProcesses(cfg.workers), wsgi.WithMaxRequests(cfg.maxReqs),
			wsgi.WithMaxRequestsJitter(cfg.maxJitter), wsgi.WithMaxWorkerMemory(cfg.maxMemMiB<<20))
	}
	return opts
}

// checkApp is --check-config: the app loads in this process, with the
// path, venv and environment it would be served with, and the server exits.
func checkApp(cfg *config, logger *slog.Logger) error {
	if cfg.workers > 1 {
		cfg.workers = 1 // one worker proves it loads
	}
	app, err := wsgi.New(cfg.spec, cfg.appOptions(logger)...)
	if err != nil {
		return err
	}
	app.Close(context.Background())
	if err := wsgi.Shutdown(context.Background()); err != nil {
		return err
	}
	logger.Info("the app loads", "app", cfg.spec)
	return nil
}

// processes reports whether the app runs in worker processes: for
// --workers above 1, and for recycling, which needs a process to replace.
func (cfg *config) processes() bool {
	return cfg.workers > 1 || cfg.maxReqs > 0 || cfg.maxMemMiB > 0 || cfg.reload
}

// control acts on the signals gunicorn's users know: SIGHUP reloads the
// app (new workers, then the old ones drain), SIGTTIN and SIGTTOU add or
// remove a worker, SIGUSR1 reopens the access log. An app in this
// process can neither reload nor resize: HUP, TTIN and TTOU are then
// logged and ignored rather than ending the server.
func control(app *wsgi.App, access *accessLog, logger *slog.Logger) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGHUP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGUSR1)
	for sig := range ch {
		if sig == syscall.SIGUSR1 {
			// Log rotation, as gunicorn's USR1: the access log is
			// opened again at its path.
			if access != nil {
				if err := access.Reopen(); err != nil {
					logger.Error("SIGUSR1: reopening the access log failed", "err", err)
				}
			}
			continue
		}
		if app.Processes() == 0 {
			logger.Warn("signal ignored: reloading and resizing need worker processes (--workers 2 or more)", "signal", signalName(sig))
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
			logger.Error("signal failed", "signal", signalName(sig), "err", err)
		} else if sig != syscall.SIGHUP {
			logger.Info("workers", "signal", signalName(sig), "workers", app.Processes())
		}
	}
}

// signalName is sig as the kill command and gunicorn's logs spell it,
// "SIGTTIN" rather than Go's "stopped (tty input)".
func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if name := unix.SignalName(s); name != "" {
			return name
		}
	}
	return sig.String()
}

func init() { log.SetFlags(0) }
