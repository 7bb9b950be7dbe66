// Package interp owns the embedded CPython interpreter: starting it once per
// process and stopping it, the GIL and the per-OS-thread thread states,
// importing apps from "module:attr" specs, the scheduler that decides which
// requests run Python (the gate), and the C hot path that runs one WSGI
// request (environ, start_response, wsgi.input, wsgi.errors,
// wsgi.file_wrapper and the response iterable) in as few cgo calls as
// possible.
//
// It is the only package with cgo and C. Python objects never leave it: the
// rest of gowsgi sees *App and *Call, packed byte buffers and Go errors.
//
// # The GIL
//
// The C code takes the GIL at the start of each call into C and gives it
// back before returning, and releases it around every callback into Go
// (reading the request body, writing to the client, logging), so Go never
// waits on the network while holding the GIL.
//
// # Streamed responses
//
// The first block of a response goes out with its headers in the callback
// that received it. Later blocks are copied into a queue of at most
// StreamQueue bytes that a writer goroutine sends while the app produces
// the next (PEP 3333 allows a server to keep transmitting meanwhile);
// blocks that queue behind a slow client go out together. Run returns once
// the writer has sent everything. Streams reports the queues.
//
// # The gate
//
// Requests wait for their turn at a gate in Go, not on the GIL in C: a
// thread blocked on the GIL costs the Go scheduler a P hand-off and the
// kernel a context switch each time the GIL moves, and many of them make
// a convoy. The gate admits as many requests into C at once as keep the
// GIL busy, and adapts that limit to the app while requests run: it
// samples the GIL's flag, and measures how much of their time in C the
// requests spend blocked rather than computing and how often the GIL
// passes between threads. An app that computes (Flask, Django on SQLite)
// runs one at a time; one that waits with the GIL released (a database
// call, a sleep, an upstream request) as many as ask, up to the server's
// slots (wsgi.WithThreads); a mix of the two in between. Gate reports the
// limit; AppOptions.Fixed opts an app out.
//
// The gate is fair the way CPython's GIL is: when requests wait and nobody
// was admitted for a switch interval (5 ms), the longest waiting one is
// admitted beyond the limit, and CPython's switch interval then gives it
// the GIL. A short request behind one that computes for seconds, or
// forever, is served within about two switch intervals, and threads pile
// up in C at most one a slice.
//
// Measured on a 2-core VM under wrk -t2 -c64, against the gate before it
// (one token, waiters admitted whenever the GIL looked free): a Django view
// (ORM query on SQLite and a template) 198 → 413 req/s and 5.2 → 2.6 ms of
// server CPU a request (its own cost in a plain loop: 2.4 ms); a trivial
// request behind a 2 s computation waited 7 ms (p50; the old gate: the
// whole 2 s, and forever behind an endless loop); a 2 ms-sleep app keeps
// its throughput with the limit at 20–30.
package interp
