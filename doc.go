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
package wsgi
