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
// The sections below say who holds the GIL when, and who owns each thing
// that crosses between Go and C; gowsgi.h says it for each C function.
//
// # The GIL
//
// No Go code runs with the GIL held: only C takes it, and every entry point
// Go calls (the gw_* functions of gowsgi.h marked "takes the GIL") takes it
// at its start and gives it back before it returns. Who holds it when:
//
//   - A request's goroutine, on its OS thread, from the start of gw_run
//     (once the gate has let it in) to its end: the app call, every next()
//     of the iterable and close() run in that one call, so on one Python
//     thread. It gives the GIL up around every callback into Go (reading
//     the request body, write(), a block to send, a wsgi.errors line), and
//     wherever Python gives it up: CPython's eval loop drops it every
//     switch interval (5 ms) when another thread asks, and blocking calls
//     in C (a socket, a sleep, sqlite3) release it. A streamed response's
//     later blocks go into the ring without a callback (see "Streamed
//     responses"): there C lets the GIL go and takes it back after each
//     ring's worth of bytes or 256 blocks, for an iterator written in C,
//     which never meets the eval loop's switch. Such an iterator never
//     takes the exception gw_interrupt raises either: C raises it itself
//     when the iterator produces another block with it still pending.
//   - No goroutine holds it while it does I/O or waits on Go: callbacks run
//     without it, and take it back only when they return to C.
//   - The deadline watcher (deadline.go), one goroutine for the process,
//     and a request's context.AfterFunc (AppOptions.InterruptOnDisconnect)
//     take it for a moment in gw_interrupt, to raise RequestTimeout or
//     ClientDisconnected in the request's thread with
//     PyThreadState_SetAsyncExc; the request sees it at its next bytecode.
//     A request not yet in Python (waiting at the gate) is tried again at
//     the watcher's next tick; one blocked in C takes it only when it
//     comes back to Python.
//   - Start, Stop, Load, App.Close, Stacks and ReadSettings take it for as
//     long as their Python work takes.
//
// Each OS thread that takes the GIL makes one Python thread state the
// first time and keeps it for its life (interp.c), so threading.local and
// Django's connections last across the requests a thread runs.
//
// # Streamed responses
//
// The first block of a response goes out with its headers in the callback
// that received it. Later blocks are copied into a ring of StreamQueue
// bytes that a writer goroutine sends while the app produces the next
// (PEP 3333 allows a server to keep transmitting meanwhile); blocks that
// queue behind a slow client go out together. C copies a block into the
// ring itself, with the GIL held, and calls back into Go only to wake a
// writer that has caught up, to wait for room, or to learn why the writer
// failed: a stream of many blocks costs a few callbacks, not one a block.
// Run returns once the writer has sent everything (or, for a request
// past its deadline, given up on a client too slow to take it). Streams
// reports the rings; stream.go has the protocol.
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
// A request passes the gate once, in Call.Run before gw_run: a request
// waits in Go, on a channel, and costs no OS thread. It leaves the gate
// when gw_run returns, or earlier at its first callback that waits on the
// client (a read of the request body, a write(), a block after the first or
// one too large for out, a file to send), and does not come back: from then
// on it takes the GIL back as any thread does. A response of one block (Flask, Django) sends
// it, headers and all, while still admitted, so it passes the gate once.
// The gate's details are in gate.go.
//
// Measured on a 2-core VM under wrk -t2 -c64, against the gate before it
// (one token, waiters admitted whenever the GIL looked free): a Django view
// (ORM query on SQLite and a template) 198 → 413 req/s and 5.2 → 2.6 ms of
// server CPU a request (its own cost in a plain loop: 2.4 ms); a trivial
// request behind a 2 s computation waited 7 ms (p50; the old gate: the
// whole 2 s, and forever behind an endless loop); a 2 ms-sleep app keeps
// its throughput with the limit at 20–30.
//
// # Ownership
//
// What crosses between Go and C, who owns it and for how long:
//
//   - env, the packed environ given to Call.Run: Go memory, lent to C for
//     the gw_run call. gw_build_environ reads it once, at the start, into
//     Python strings (the interned key of an id, or a new str); C keeps
//     no pointer into it.
//   - body, a request body read in advance: Go memory, lent for the call.
//     gw_input_new copies it into a bytes object, so the caller may reuse
//     it once Run returns.
//   - stream, a body read as the app asks: Go's io.Reader, read only in
//     gowsgiRead, on the request's goroutine, until the request ends.
//   - out, the Call's buffer of outSize bytes: Go memory, lent to C for
//     the whole gw_run call. C fills it before each gowsgiBlock callback
//     and before it returns; Go reads it then, and the next block
//     overwrites it, so what Go keeps it copies (the stream's ring) or
//     writes out before the callback returns. Its layout: out[:hdr_len]
//     is the start_response record (when hdr_len > 0), out[hdr_len:out_len]
//     body bytes.
//   - res, the Call's gw_result: C memory, calloc'd by NewCall and freed by
//     Free. C writes it with the GIL held; Go reads it in gowsgiBlock and
//     once gw_run has returned. gw_interrupt reads it from another
//     goroutine, with the GIL: Run waits for the deadline watcher and the
//     disconnect callback to be done with it before it returns, so Free
//     cannot race them.
//   - res.err, a traceback: malloc'd by C (gw_format_exception), Go's once
//     gw_run returns. Call.takeErr copies and frees it, on every path of
//     Run that finds one, before the next Run: gw_run sets it to NULL
//     without freeing.
//   - res.ext, a block beside out: borrowed, the buffer of a bytes object
//     the request keeps until it asks the app for the next block, so valid
//     until gowsgiBlock returns. With GW_DONE (a list's last item) the
//     request has ended and res.hold keeps the object: valid until the
//     Call's next Run or Free. Go copies it (response.Writer.Write copies
//     into its buffer or the socket) and keeps no pointer.
//   - res.ring.buf, a streamed response's ring: C memory of StreamQueue
//     bytes, the Call's while its stream runs: taken from the package's
//     spares (or malloc'd) when the stream starts (startStream), given
//     back once gw_run has returned and the writer has ended (stop). The
//     producer (C in gw_run, or Go in a callback
//     on the same thread, never both at once) writes it beyond head and
//     then moves head; the writer goroutine reads it between tail and
//     head, without the GIL, and then moves tail. head, tail and the
//     writer's idle and failed flags (res.ring) are sequentially
//     consistent atomics on both sides: the writer sets idle before its
//     last look at head, the producer moves head before it looks at idle
//     and calls back to wake it, so a block is never left unsent. No
//     Python memory is in the ring: a block is copied in before the app
//     is asked for the next.
//   - res.hold: a reference the C side owns on Go's behalf; dropped, with
//     the GIL, at the start of the next gw_run with res or by gw_drop_hold
//     (Call.Free).
//   - res.fd, for GW_FILE: the descriptor of the Python file the
//     wsgi.file_wrapper wraps, borrowed for that gowsgiBlock callback (the
//     iterable stays alive until it returns). Go sends from a dup of it and
//     closes the dup; the file stays Python's.
//   - The Call's cgo.Handle: made by NewCall, deleted by Free. C keeps it
//     in the request's start_response object and wsgi.input while the
//     request runs; both forget it when the request ends, so an app that
//     keeps write() or wsgi.input gets an error or b"" afterwards, never a
//     call into a Go object that moved on.
//   - The App's objects (the app, its template environ, its wsgi.errors):
//     new references the App owns, dropped by App.Close, when no request
//     may run. wsgi.errors logs through the App's cgo.Handle, which Close
//     deletes: a line the app writes after that, through a wsgi.errors it
//     kept, goes to stderr.
//   - The pointers a callback gets (gowsgiRead's buf, gowsgiWrite's headers
//     and data, gowsgiLog's line): valid only until it returns. C keeps
//     the objects behind them alive for the call; Go copies what it keeps.
//   - Strings Go passes at set-up (an app spec, a path, the bootstrap
//     module, the environ keys): C.CString, freed by Go after the call; C
//     copies what it keeps. Text C returns (a *err, the settings JSON, the
//     stacks) is malloc'd and Go's to free (takeError, takeErrorN).
//
// No Python object leaves the package: the rest of gowsgi sees none.
//
// # Memory
//
// Linking the package makes glibc's malloc keep one arena for every
// thread of the process (malloc.c: a constructor, run when the program
// loads, before Go starts a thread; in a c-archive or c-shared build, when
// the library loads). Most of what Python's threads allocate they allocate
// one at a time, under the GIL, so glibc's arena a thread (up to eight a
// core on 64-bit) spared them few lock waits, and each arena gave back and
// faulted in again the memory of every large object a request freed.
// Python's small objects come from its own allocator, not malloc. C code
// that allocates with the GIL released (sqlite3 and other database
// drivers, zlib, lzma, bz2, OpenSSL, getaddrinfo) takes the one arena's
// lock for what glibc's per-thread cache does not serve; the gain was
// measured on two cores.
//
// To choose the number of arenas, start the program with
// $MALLOC_ARENA_MAX set to it (or glibc.malloc.arena_max in
// $GLIBC_TUNABLES; eight a core is glibc's own default on 64-bit): glibc
// reads it before main, so os.Setenv is too late, and malloc.c then
// leaves it alone. To keep glibc's default untouched, build with -tags
// gowsgi_malloc_arenas, which leaves malloc.c out.
//
// # The start_response record
//
// gw_pack_start_response (start_response.c) checks what the app gives
// start_response, by the rules of response.ParseStatus and
// response.CheckHeader, and packs it in one bytes object that the request
// keeps:
//
//	slen    uint32, little endian
//	status  slen bytes, latin-1: "200 OK"
//	count   uint32, little endian: the number of headers
//	count times:
//	nlen    uint32, little endian
//	name    nlen bytes, latin-1
//	vlen    uint32, little endian
//	value   vlen bytes, latin-1
//
// It reaches Go once, with the first bytes of the body: copied to the start
// of out (gw_result.hdr_len bytes) with the first block, or at the end of
// an empty body; or as gowsgiWrite's hdr with the first write(). A later
// start_response with exc_info, before that, replaces it.
// Call.startResponse unpacks it, copying the strings, and starts the
// response with response.Writer.Start, which checks it again.
package interp
