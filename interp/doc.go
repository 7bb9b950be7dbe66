// Package interp owns the embedded CPython interpreter: starting it once per
// process and stopping it, the GIL and the per-OS-thread thread states,
// importing apps from "module:attr" specs, and the C hot path that runs one
// WSGI request (environ, start_response, wsgi.input, wsgi.errors,
// wsgi.file_wrapper and the response iterable) in as few cgo calls as
// possible.
//
// It is the only package with cgo and C. Python objects never leave it: the
// rest of gowsgi sees *App and *Call, packed byte buffers and Go errors.
//
// The C code takes the GIL at the start of each call into C and gives it
// back before returning, and releases it around every callback into Go
// (reading the request body, writing to the client, logging), so Go never
// waits on the network while holding the GIL. Requests queue for Python in
// Go, at a gate (gate.go), rather than on the GIL in C.
package interp
