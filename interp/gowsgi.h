/* gowsgi.h: the C side of package interp. Every function here runs on the
 * calling OS thread. The entry points Go calls (marked "takes the GIL")
 * take it themselves and give it back before returning, so Go never holds
 * the GIL between calls; the others need the caller to hold it ("GIL
 * held"), or touch no Python state ("no GIL"). For each function that
 * deals in objects the comment says whether what it returns is a new
 * reference (the caller owns it and must drop it) or a borrowed one (valid
 * while its owner keeps it). interp/doc.go ("The GIL", "Ownership") is the
 * whole story. */
#ifndef GOWSGI_H
#define GOWSGI_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* Constants shared with Go. Package environ defines the first three for
 * its packed environ (environ/doc.go, "Record format"); consts.go fails to
 * compile when they and these drift apart. */
#define GW_LITERAL_KEY 0xFF   /* environ.LiteralKey: a record that carries its own key */
#define GW_KEY_TABLE 0xFF     /* ids 0..GW_KEY_TABLE-1 index gw_keys: len(environ.Keys) at most */
#define GW_INPUT_TERMINATED 1 /* environ.InputTerminated, a bit of gw_run's flags */

/* What gowsgiRead returns when it fails (otherwise the count, 0 at the end). */
enum {
	GW_READ_FAILED = -1,    /* the client went away, or sent a malformed body */
	GW_READ_TOO_LARGE = -2, /* the body is past the server's cap */
	GW_READ_TIMEOUT = -3,   /* the body came too slowly */
};

/* What gw_run produced (or, mid-request, hands to gowsgiBlock), for Go to act on. */
enum {
	GW_MORE = 1, /* a block is ready and more may follow (to gowsgiBlock) */
	GW_DONE = 2, /* complete; close() was called (err: its failure, to log), the request freed */
	GW_FILE = 3, /* send the file fd from fd_off (to gowsgiBlock) */
	GW_FAIL = 4, /* the app failed: err holds the traceback; close() was called, the request freed */
	GW_STOP = 5, /* gowsgiBlock stopped the request (Go knows why); close() was called
		      * (err: its failure, to log), the request freed */
};

/* Why gw_interrupt raised in a request (gw_result.interrupted). */
enum {
	GW_TIMEOUT = 1, /* RequestTimeout: past its deadline */
	GW_GONE = 2,    /* ClientDisconnected: its client went away */
};

/* gw_ring is the queue of a streamed response (stream.go): the blocks
 * after the first, copied in by the producer and sent by Go's writer
 * goroutine, which runs beside the app without the GIL. The producer is
 * the request's own thread: C in produce (with the GIL), or Go in a
 * gowsgiBlock callback on that same thread, never both at once. The
 * writer is a goroutine. head, tail, idle and failed are shared between
 * the two while the writer runs, and then read and written only with
 * sequentially consistent atomics (__atomic_* here, sync/atomic in Go),
 * but for the producer's relaxed load of its own head; Go resets them with
 * plain stores before the writer starts. */
typedef struct {
	char *buf;          /* C memory, cap bytes, the Call's while its stream
			     * runs (Go takes it from its spares or mallocs it,
			     * and gives it back after gw_run) */
	long long cap;
	int on;             /* the writer runs: later blocks go here. Go sets it
			     * in a callback and clears it after gw_run; C reads
			     * it on the same thread, so plainly */
	long long head;     /* bytes put in since the stream began: the producer's */
	long long tail;     /* bytes the writer has taken out and written: the writer's */
	int idle;           /* the writer sleeps: whoever puts must wake it (C: a callback) */
	int failed;         /* the writer failed: the producer calls back to learn why */
} gw_ring;

/* gw_result is what gw_run reports, in C memory the Go Call owns (calloc'd
 * by NewCall, freed by Free). C writes it with the GIL held; Go reads it
 * in gowsgiBlock and once gw_run has returned. */
typedef struct {
	int kind;
	Py_ssize_t hdr_len;   /* the packed start_response record at the start of out; 0 if none this time */
	Py_ssize_t out_len;   /* bytes used in out: headers, then inline body bytes */
	const char *ext;      /* borrowed: the buffer of a bytes object the request
			       * (or hold) keeps, valid until gowsgiBlock returns,
			       * or with GW_DONE until the next gw_run with res */
	Py_ssize_t ext_len;
	long long body_len;   /* whole body length when the server knows it (list body), else -1 */
	int fd;               /* GW_FILE: the Python file's descriptor, borrowed for
			       * the gowsgiBlock callback (Go dups it), and its offset */
	long long fd_off;
	char *err;            /* a traceback, malloc'd: Go copies and frees it */
	Py_ssize_t err_len;
	PyObject *hold;       /* owned: the ext block of a request already ended
			       * (GW_DONE), kept alive for Go until the next call
			       * with this result, or gw_drop_hold */
	/* When the gate asks (measure): this thread's CPU time in the call, the
	 * call's wall time, and the part of it that was not the app's: in
	 * callbacks into Go and waiting to take the GIL at the start and after
	 * each callback. */
	long long cpu_ns, wall_ns, wait_ns;
	/* Times the request let the GIL go outside a callback (a long stream
	 * put in the ring without one) and another thread took it, for the
	 * gate's count of callbacks. */
	long long yields;
	/* For gw_interrupt, all read and written with the GIL held: the
	 * request's number (gw_run's seq), the thread running it while live,
	 * and what gw_interrupt raised in it (GW_TIMEOUT, GW_GONE), or 0. */
	long long seq;
	unsigned long thread;
	int live, interrupted;
	gw_ring ring; /* the streamed response's queue, while ring.on */
} gw_result;

typedef struct gw_req gw_req;

/* ---- Called from Go ---- */

/* interp.c: lifetime of the interpreter. */
/* gw_init starts Python and runs the bootstrap module on this thread, which
 * must stay the one that calls gw_finalize: 0, or -1 with *err malloc'd
 * (Go frees it). Takes the GIL (the one it makes) and returns with it free. */
int gw_init(const char *program, const char *bootstrap, char **err);
/* gw_finalize stops Python; after it nothing may call in. Takes the GIL
 * and never gives it back (the interpreter is gone). */
void gw_finalize(void);
/* gw_version is PY_VERSION_HEX of the headers built against. No GIL. */
int gw_version(void);
/* gil.c: reads of the GIL's state for the gate, racy by design. No GIL. */
int gw_gil_locked(void);         /* 1 held, 0 free, -1 unknown layout */
long long gw_gil_switches(void); /* hand-offs of the GIL so far, -1 unknown */
/* gw_thread_states counts OS threads with a thread state of ours. No GIL. */
int gw_thread_states(void);
/* gw_dump_stacks sets *out to malloc'd text (Go frees it): every thread's
 * stack when it returns 0, a traceback when -1. Takes the GIL. */
int gw_dump_stacks(char **out, Py_ssize_t *len);

/* app.c: loading apps and their per-app state. Each takes the GIL, and on
 * failure returns NULL or -1 with *err set to a malloc'd traceback that
 * Go copies and frees. */
PyObject *gw_load(const char *spec, char **err); /* new reference: the app */
int gw_add_path(const char *path, char **err);
int gw_fix_executable(const char *want, char **err);
/* gw_read_settings returns malloc'd JSON, *n bytes, for Go to free. */
char *gw_read_settings(const char *path, Py_ssize_t *n, char **err);
/* gw_template returns a new reference: the app's template environ, which
 * holds its own reference to errors (borrowed here). */
PyObject *gw_template(PyObject *errors, int multithread, int multiprocess, char **err);
/* wsgi_errors.c: a new reference to the app's wsgi.errors, which logs
 * through the handle app (Go's, to the App; App.Close deletes it). */
PyObject *gw_errors_new(uintptr_t app, char **err);
void gw_errors_flush(PyObject *errors); /* errors borrowed. Takes the GIL. */
/* gw_decref drops the reference o that Go owned (NULL: nothing). Takes the GIL. */
void gw_decref(PyObject *o);

/* call.c: one request, from the app call to close(). Takes the GIL, and
 * gives it up around every callback into Go. env, body and out are Go
 * memory, used only during the call: env and body are read at the start
 * (body is copied into a bytes object), out is written before a callback
 * and at the end, for Go to read then. call is the Call's handle, kept by
 * the request's objects until it ends. res is the Call's (C memory); what
 * it holds on return is described at gw_result. Returns nothing. */
void gw_run(PyObject *app, PyObject *tmpl, const char *env, Py_ssize_t env_len,
	    int flags, const char *body, Py_ssize_t body_len, int stream,
	    uintptr_t call, char *out, Py_ssize_t out_cap, int measure, long long seq, gw_result *res);
/* gw_interrupt raises why's exception in request seq of res if it still
 * runs (1), not yet (0), or not any more (-1). Takes the GIL. */
int gw_interrupt(gw_result *res, long long seq, int why);
/* gw_drop_hold drops res->hold, if any. Takes the GIL if it has one. */
void gw_drop_hold(gw_result *res);

/* ---- Internal, shared between the C files; all need the GIL held ---- */

/* interp.c */
void gw_acquire(void); /* takes the GIL with this thread's state; not held before */
void gw_release(void); /* gives it up; held before */
/* gw_format_exception takes the raised exception (clearing it) and
 * returns its traceback as malloc'd text, *len bytes, for Go to free. */
char *gw_format_exception(Py_ssize_t *len);
extern PyObject *gw_bootstrap;   /* owned: the _gowsgi module (bootstrap.py) */
extern PyObject *gw_timeout_exc; /* owned: _gowsgi.RequestTimeout */
extern PyObject *gw_gone_exc;    /* owned: _gowsgi.ClientDisconnected */

/* names.c: interned names, made by gw_intern_names in gw_init and owned
 * there until gw_forget_names, after Py_FinalizeEx; everyone else borrows them. */
extern PyObject *gw_str_close, *gw_str_read, *gw_str_fileno, *gw_str_tell,
	*gw_str_release_logging_locks, *gw_str_wsgi_input, *gw_str_wsgi_input_terminated,
	*gw_str_wsgi_version, *gw_str_wsgi_errors, *gw_str_wsgi_multithread,
	*gw_str_wsgi_multiprocess, *gw_str_wsgi_run_once, *gw_str_wsgi_file_wrapper,
	*gw_str_server_software;
int gw_intern_names(void); /* 0, or -1 with an exception set */
void gw_forget_names(void);

/* app.c: the environ. gw_keys owns the interned key of each id; lookups
 * borrow them. gw_set_keys (called from Go, takes the GIL) fills it and
 * returns how many, or -1 with *err set to a malloc'd traceback. */
extern PyObject *gw_keys[GW_KEY_TABLE];
int gw_set_keys(const char *keys, Py_ssize_t len, char **err);
/* gw_build_environ returns a new reference: a copy of tmpl (borrowed)
 * with the packed records of env added; NULL with an exception set. */
PyObject *gw_build_environ(PyObject *tmpl, const char *env, Py_ssize_t len);

/* The types of the objects a request hands the app; static, never freed. */
extern PyTypeObject gw_ReqType, gw_InputType, gw_ErrorsType, gw_FileWrapperType;
int gw_types_ready(void); /* filewrapper.c: readies all four; -1 with an exception set */

/* start_response.c: what the app gives start_response, checked and packed
 * for Go (the record is in interp/doc.go, "The start_response record").
 * status and headers borrowed; *packed gets a new reference to a bytes
 * object. 0, or -1 with the exception for the app set. */
int gw_pack_start_response(PyObject *status, PyObject *headers, PyObject **packed);

/* input.c: wsgi.input. gw_input_new returns a new reference: body (Go's
 * memory) is copied now; with stream set it reads from Go through call,
 * until gw_input_end (input borrowed) cuts it off when the request ends. */
PyObject *gw_input_new(const char *body, Py_ssize_t len, int stream, uintptr_t call);
void gw_input_end(PyObject *input);

/* filewrapper.c: the descriptor and offset of the real file fw (borrowed)
 * wraps, or -1 (no exception set) when it is not one. *fd stays the
 * Python file's: valid while fw is, never to be closed by the caller. */
int gw_filewrapper_fd(PyObject *fw, int *fd, long long *off);

/* ---- Go callbacks (exported from callbacks.go) ----
 * Always called without the GIL, on the goroutine of the request, and
 * each pointer passed is valid only until the callback returns. */
/* gowsgiRead reads up to n bytes of the request body into buf: the count,
 * 0 at the end, or a GW_READ_* failure. */
extern Py_ssize_t gowsgiRead(uintptr_t call, char *buf, Py_ssize_t n);
/* gowsgiWrite sends write()'s data, after the packed status and headers
 * hdr the first time (hdr_len 0 after): 0, or -1 once the client is gone. */
extern int gowsgiWrite(uintptr_t call, char *hdr, Py_ssize_t hdr_len, char *data, Py_ssize_t len);
/* gowsgiLog logs one wsgi.errors record of the App whose handle is app. */
extern void gowsgiLog(uintptr_t app, char *msg, Py_ssize_t len);
/* gowsgiBlock sends what res holds mid-request (GW_MORE, GW_FILE): 0 to
 * go on, -1 to stop the request (Go keeps why in Call.cbErr). */
extern int gowsgiBlock(uintptr_t call);

#endif
