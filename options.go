package wsgi

import (
	"log/slog"
	"time"
)

// An Option configures an App.
type Option func(*options)

type options struct {
	threads      int
	scriptName   *string
	log          *slog.Logger
	queueTimeout time.Duration
	pythonPath   []string
	venv         string
	multiprocess bool
	maxPreread   int64
	ioTimeout    time.Duration
	maxQueue     int
	environ      EnvironFunc
	fixed        bool

	timeout time.Duration

	interruptGone bool // WithInterruptOnDisconnect
	limits        RequestLimits
	maxBody       int64

	proxies       *string // WithTrustedProxies' list
	schemeHeaders map[string]string

	processes         int // worker processes; 0 runs the app in this process
	maxRequests       int
	maxRequestsJitter int
	maxWorkerMemory   int64

	access []func(*Access) // WithAccessFunc, WithAccessLog
}

// DefaultThreads is the most requests an App runs in Python at once unless
// WithThreads says otherwise. How many really run at once is adapted to the
// app while it serves (see package interp, "The gate"): one or two for an
// app that computes, up to this many for one that waits on a database or an
// upstream with the GIL released.
const DefaultThreads = 32

func defaults() options {
	return options{
		threads:      DefaultThreads,
		queueTimeout: DefaultQueueTimeout,
		ioTimeout:    DefaultIOTimeout,
		maxQueue:     DefaultMaxQueue,
		maxPreread:   DefaultMaxPreread,
		limits:       DefaultRequestLimits,
	}
}

// WithThreads sets the most requests that may run in Python at once
// (gunicorn's --threads); within it the scheduler adapts how many do. Others
// wait for a slot, up to the queue timeout. n < 1 means 1.
//
// Each OS thread that runs a request keeps its Python thread state, and
// with it what the app keeps per thread: an app that holds a database
// connection per thread (Django with CONN_MAX_AGE above 0) may open about
// n of them in each process. Bound n by what the database allows.
func WithThreads(n int) Option {
	return func(o *options) { o.threads = max(n, 1) }
}

// WithFixedThreads runs n requests in Python at once, always (n < 1 means
// 1): the scheduler does not adapt how many, and the app's requests do not
// queue for it. For an app whose best concurrency its operator has
// measured; the default, WithThreads, adapts within its bound.
func WithFixedThreads(n int) Option {
	return func(o *options) { o.threads, o.fixed = max(n, 1), true }
}

// WithScriptName mounts the app at an explicit SCRIPT_NAME ("" or "/x",
// without a trailing slash) instead of the prefix inferred from the
// http.ServeMux pattern or http.StripPrefix.
func WithScriptName(prefix string) Option {
	return func(o *options) { o.scriptName = &prefix }
}

// WithLogger sets where app errors, tracebacks and wsgi.errors go.
// The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// DefaultQueueTimeout is how long a request waits for a free slot unless
// WithQueueTimeout says otherwise.
const DefaultQueueTimeout = 30 * time.Second

// WithQueueTimeout sets how long a request waits for a free slot before it
// is answered "503 Service Unavailable" with Retry-After. Default
// DefaultQueueTimeout; d <= 0 means the default.
func WithQueueTimeout(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			d = DefaultQueueTimeout
		}
		o.queueTimeout = d
	}
}

// WithPythonPath puts directories first on sys.path, in order, before the
// app is imported (gunicorn's --pythonpath). The working directory is
// always on sys.path.
func WithPythonPath(dirs ...string) Option {
	return func(o *options) { o.pythonPath = append(o.pythonPath, dirs...) }
}

// WithVenv runs Python in a virtual environment: its site-packages are
// importable and sys.executable is its python. Without it, $VIRTUAL_ENV is
// used when set.
//
// The venv belongs to the process, not the App: one process has one
// interpreter, started by the first New, and it cannot change venv. A later
// New whose venv (WithVenv, else $VIRTUAL_ENV) is another fails with an
// error wrapping ErrOtherVenv: give every App of the process the same
// WithVenv, or run the apps that need another venv in worker processes
// (WithProcesses), each of which starts its own interpreter in the venv
// its App names.
func WithVenv(dir string) Option {
	return func(o *options) { o.venv = dir }
}

// WithMultiprocess sets wsgi.multiprocess, for servers that run the same
// app in several processes.
func WithMultiprocess(b bool) Option {
	return func(o *options) { o.multiprocess = b }
}

// DefaultMaxPreread is the largest request body read into memory before
// the request takes a slot unless WithMaxPreread says otherwise: 64 KiB.
const DefaultMaxPreread = 64 << 10

// WithMaxPreread sets the largest request body (by Content-Length) read
// into memory before the request takes a slot, so slow uploads never hold
// one. Larger or chunked bodies are streamed to the app as it reads them.
// Default DefaultMaxPreread; 0 streams every body.
func WithMaxPreread(n int64) Option {
	return func(o *options) { o.maxPreread = n }
}

// WithInterruptOnDisconnect makes a client that goes away stop its
// request's Python code: as soon as net/http sees the connection closed
// (or the request's context is cancelled otherwise), ClientDisconnected,
// a BaseException, is raised in the request's thread, as RequestTimeout is
// for WithTimeout, and the iterable is closed. Without it, the default, the
// app runs on and learns only when it next sends a block (its write fails)
// or reads the body. An app that must finish what it began (a payment, a
// write to two systems) should not turn it on, or should catch the
// exception where it cannot stop.
func WithInterruptOnDisconnect(on bool) Option {
	return func(o *options) { o.interruptGone = on }
}

// WithTimeout bounds how long a request may take, from when the App gets
// it (gunicorn's --timeout, per request). When it passes, the request's
// Python thread gets a RequestTimeout exception (a BaseException, so
// `except Exception` lets it through), its iterable is closed, and the
// client gets "504 Gateway Timeout" if nothing was sent yet, else a cut
// connection; the traceback of where it was is logged. A deadline on the
// request's context (http.TimeoutHandler, say) does the same, with or
// without WithTimeout.
//
// Python can only be interrupted between bytecodes: a request blocked in C
// (time.sleep, a socket without a timeout, a C extension) gets the
// exception when it comes back. With WithProcesses such a request's worker
// is retired a second after the deadline (no new requests; a replacement
// starts), killed HardTimeoutGrace after it, and the client gets 504. 0,
// the default, never times out.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = max(d, 0) }
}

// HardTimeoutGrace is how long after its deadline a request may still run
// in a worker process (WithProcesses), where the exception raised at the
// deadline did not end it, before the worker is killed. A second past the
// deadline that worker already takes no new requests and a replacement
// starts, so the requests it runs beside the stuck one can end before it
// is killed.
const HardTimeoutGrace = 5 * time.Second
