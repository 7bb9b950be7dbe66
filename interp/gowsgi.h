/* gowsgi.h: the C side of package interp. Every function here runs on the
 * calling OS thread; the gw_* entry points take the GIL themselves and give it
 * back before returning, so Go never holds the GIL between calls. */
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

typedef struct {
	int kind;
	Py_ssize_t hdr_len;   /* packed status+headers at the start of out; 0 if none this time */
	Py_ssize_t out_len;   /* bytes used in out: headers, then inline body bytes */
	const char *ext;      /* a block owned by the request, valid until the next call */
	Py_ssize_t ext_len;
	long long body_len;   /* whole body length when the server knows it (list body), else -1 */
	int fd;               /* GW_FILE: the file's descriptor, and its current offset */
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
	/* For gw_interrupt, all read and written with the GIL held: the
	 * request's number (gw_run's seq), the thread running it while live,
	 * and what gw_interrupt raised in it (GW_TIMEOUT, GW_GONE), or 0. */
	long long seq;
	unsigned long thread;
	int live, interrupted;
} gw_result;

typedef struct gw_req gw_req;

/* interp.c: lifetime of the interpreter. */
int gw_init(const char *program, const char *bootstrap, char **err);
void gw_finalize(void);
int gw_version(void);
int gw_gil_locked(void);        /* gil.c: 1 held, 0 free, -1 unknown */
long long gw_gil_switches(void); /* gil.c: hand-offs of the GIL so far, -1 unknown */

/* app.c: loading apps and their per-app state. */
PyObject *gw_load(const char *spec, char **err);
int gw_add_path(const char *path, char **err);
int gw_fix_executable(const char *want, char **err);
char *gw_read_settings(const char *path, Py_ssize_t *n, char **err);
PyObject *gw_template(PyObject *errors, int multithread, int multiprocess, char **err);
PyObject *gw_errors_new(uintptr_t app, char **err);
void gw_errors_flush(PyObject *errors);
void gw_decref(PyObject *o);

/* call.c: one request. */
void gw_run(PyObject *app, PyObject *tmpl, const char *env, Py_ssize_t env_len,
	      int flags, const char *body, Py_ssize_t body_len, int stream,
	      uintptr_t call, char *out, Py_ssize_t out_cap, int measure, long long seq, gw_result *res);
int gw_interrupt(gw_result *res, long long seq, int why);
void gw_drop_hold(gw_result *res);

/* start_response.c: what the app gives start_response, checked and packed for Go. */
int gw_pack_start_response(PyObject *status, PyObject *headers, PyObject **packed);

/* Internal, shared between the C files. */
/* names.c: interned names, made in gw_init and owned there; borrow them. */
extern PyObject *gw_str_close, *gw_str_read, *gw_str_fileno, *gw_str_tell,
	*gw_str_release_logging_locks, *gw_str_wsgi_input, *gw_str_wsgi_input_terminated,
	*gw_str_wsgi_version, *gw_str_wsgi_errors, *gw_str_wsgi_multithread,
	*gw_str_wsgi_multiprocess, *gw_str_wsgi_run_once, *gw_str_wsgi_file_wrapper,
	*gw_str_server_software;
int gw_intern_names(void);
void gw_clear_names(void);
extern PyObject *gw_keys[GW_KEY_TABLE]; /* interned environ keys, by id */
int gw_set_keys(const char *keys, Py_ssize_t len, char **err);
PyObject *gw_build_environ(PyObject *tmpl, const char *env, Py_ssize_t len);
extern PyTypeObject gw_ReqType, gw_InputType, gw_ErrorsType, gw_FileWrapperType;
PyObject *gw_input_new(const char *body, Py_ssize_t len, int stream, uintptr_t call);
void gw_input_end(PyObject *input);
int gw_types_ready(void);
char *gw_format_exception(Py_ssize_t *len);
int gw_dump_stacks(char **out, Py_ssize_t *len);
void gw_acquire(void);
int gw_thread_states(void); /* interp.c: OS threads with a thread state of ours */
void gw_release(void);

/* Go callbacks (exported from callbacks.go); always called without the GIL. */
extern Py_ssize_t gowsgiRead(uintptr_t call, char *buf, Py_ssize_t n);
extern int gowsgiWrite(uintptr_t call, char *hdr, Py_ssize_t hdr_len, char *data, Py_ssize_t len);
extern void gowsgiLog(uintptr_t app, char *msg, Py_ssize_t len);
extern int gowsgiBlock(uintptr_t call);

#endif
