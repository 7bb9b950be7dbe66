// Package wsgi hosts Python WSGI applications (PEP 3333) — Flask, Django,
// Pyramid, Falcon, Bottle or a bare callable — inside a Go program, through
// an embedded CPython interpreter.
//
// An *App is an http.Handler, so a Python app mounts on any Go mux, behind
// any middleware:
//
//	mux := http.NewServeMux()
//	mux.Handle("/legacy/", wsgi.Handler("app:app"))
//
// Mounted at "/legacy/", a request for /legacy/x reaches the app with
// SCRIPT_NAME "/legacy" and PATH_INFO "/x", so the app's own URL building
// keeps working.
//
// The interpreter starts with the first App and lives until Shutdown; one
// process has one interpreter, shared by all its Apps. Requests call into
// Python on their own goroutine, at most WithThreads of them at once per
// App, and the GIL is released whenever Go reads from or writes to the
// network.
//
// A program that links this package has glibc's malloc share one arena
// among all its threads (see "Memory" in package interp): Python's threads
// allocate mostly holding the GIL, so an arena per thread saved little
// waiting and cost page faults on large bodies. A program whose C code
// allocates from many threads at once with the GIL released (database
// drivers, compression, TLS) can set the number of arenas with
// MALLOC_ARENA_MAX in the environment it starts with (os.Setenv in main is
// too late), or keep glibc's default, up to eight arenas a core on 64-bit,
// with the build tag gowsgi_malloc_arenas.
//
// # Behind a proxy
//
// A program that serves an App in its own http.Server behind a proxy
// should serve plain HTTP through package framing's listener,
// framing.Guard(ln): it answers 400 to requests whose body framing a
// proxy could read differently (Content-Length with Transfer-Encoding,
// Transfer-Encoding on HTTP/1.0, obs-fold), which net/http accepts and a
// handler cannot see. The gowsgi command does so on every plain --bind.
//
// # Worker processes
//
// With WithProcesses the App runs the app in worker processes instead,
// each with its own interpreter, and this process starts no Python. The
// workers are the program's own executable started again, recognised by
// this package's init before main runs (the program needs no change). The
// App builds each request's environ, sends it to the worker with the fewest
// requests in flight over a Unix socket (package internal/wire frames the
// environ, the body and the response), and replays the response. It
// supervises the workers: a worker that dies is replaced, workers are
// recycled (WithMaxRequests, WithMaxWorkerMemory) and the app reloaded
// (App.Reload) by starting replacements first and draining the old ones,
// and workers die with the App's process.
//
// # Bad requests, slow clients and overload
//
// An App refuses, before the app runs, what gunicorn refuses: a request
// line, header fields or a body past RequestLimits and WithMaxRequestBody
// (414, 431, 413). It bounds every wait on the client (WithIOTimeout: 408
// for a body too slow, a cut response for a client that stops reading),
// the time a request runs (WithTimeout: RequestTimeout raised in Python,
// 504) and the queue for Python (WithQueueTimeout, WithMaxQueue: 503 with
// Retry-After). X-Forwarded-For, Forwarded and X-Forwarded-Proto set
// REMOTE_ADDR and wsgi.url_scheme only from the peers WithTrustedProxies
// names (127.0.0.1 and ::1 by default, as gunicorn's, and unix sockets).
//
// # Seeing what it does
//
// WithAccessLog logs one structured record a request through slog, and
// WithAccessFunc hands each request's Access (the status and body bytes
// really sent, gowsgi's own answers included, the duration, whether it was
// cut off) to a function of the program's. An *App is a
// prometheus.Collector: registering it starts the counting of requests
// (by method and status class, with a duration histogram), and its
// scrapes report the scheduler's state or the worker processes'.
// App.DumpStacks writes every Python thread's traceback. An App with no
// access function and never registered does none of this accounting.
package wsgi
