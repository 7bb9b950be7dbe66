/* interp.c: starting and stopping the interpreter, and the per-OS-thread
 * thread states through which every request takes the GIL. */
#include "gowsgi.h"

/* The thread state of this OS thread, made on its first request and kept
 * for the thread's life (never one per request: that costs an mmap, a
 * munmap and the loss of threading.local every time). It is the state
 * PyGILState also knows, so extensions calling PyGILState_Ensure nest. */
static __thread PyThreadState *tls_ts;

/* How many OS threads have one (for metrics). */
static int thread_states;

int gw_thread_states(void)
{
	return __atomic_load_n(&thread_states, __ATOMIC_RELAXED);
}

/* The thread state of the thread that ran Py_InitializeFromConfig; the
 * same thread finalizes with it. */
static PyThreadState *main_ts;

/* _gowsgi, the bootstrap module (bootstrap.py), and its format_exc. */
PyObject *gw_bootstrap;
PyObject *gw_timeout_exc; /* owned: _gowsgi.RequestTimeout */
PyObject *gw_gone_exc;    /* owned: _gowsgi.ClientDisconnected */
static PyObject *format_exc;

void gw_acquire(void)
{
	if (tls_ts != NULL) {
		PyEval_RestoreThread(tls_ts);
		return;
	}
	/* First use on this OS thread: PyGILState_Ensure makes a thread state
	 * and takes the GIL. Its count stays at one, so nothing frees it. */
	PyGILState_Ensure();
	tls_ts = PyThreadState_Get();
	__atomic_add_fetch(&thread_states, 1, __ATOMIC_RELAXED);
}

void gw_release(void)
{
	PyEval_SaveThread();
}

static char *dup_error(const char *prefix, PyStatus st)
{
	const char *msg = st.err_msg ? st.err_msg : "unknown error";
	size_t n = strlen(prefix) + strlen(msg) + 3;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s: %s", prefix, msg);
	return s;
}

/* gw_init starts the interpreter without Python's signal handlers (Go keeps
 * SIGINT and SIGTERM) and without faulthandler (it would turn Go's own
 * recovered faults into crashes), runs the bootstrap module and gives the
 * GIL back. program, when not empty, is the python executable whose prefix
 * (or venv, through its pyvenv.cfg) the interpreter should use. On error,
 * *err is a malloc'd message. */
int gw_init(const char *program, const char *bootstrap, char **err)
{
	PyConfig config;
	PyStatus st;

	PyConfig_InitPythonConfig(&config);
	config.install_signal_handlers = 0;
	config.faulthandler = 0;
	config.parse_argv = 0;
	if (program != NULL && program[0] != '\0') {
		st = PyConfig_SetBytesString(&config, &config.program_name, program);
		if (PyStatus_Exception(st))
			goto fail;
	}
	st = Py_InitializeFromConfig(&config);
	if (PyStatus_Exception(st))
		goto fail;
	PyConfig_Clear(&config);

	if (gw_types_ready() < 0 || gw_intern_names() < 0)
		goto pyfail;
	PyObject *code = Py_CompileString(bootstrap, "<gowsgi bootstrap>", Py_file_input);
	if (code == NULL)
		goto pyfail;
	gw_bootstrap = PyImport_ExecCodeModule("_gowsgi", code);
	Py_DECREF(code);
	if (gw_bootstrap == NULL)
		goto pyfail;
	format_exc = PyObject_GetAttrString(gw_bootstrap, "format_exc");
	if (format_exc == NULL)
		goto pyfail;
	gw_timeout_exc = PyObject_GetAttrString(gw_bootstrap, "RequestTimeout");
	if (gw_timeout_exc == NULL)
		goto pyfail;
	gw_gone_exc = PyObject_GetAttrString(gw_bootstrap, "ClientDisconnected");
	if (gw_gone_exc == NULL)
		goto pyfail;

	main_ts = PyEval_SaveThread(); /* the GIL is free from here on */
	return 0;

fail:
	*err = dup_error("starting Python", st);
	PyConfig_Clear(&config);
	return -1;
pyfail:
	{
		Py_ssize_t n;
		*err = gw_format_exception(&n);
		main_ts = PyEval_SaveThread();
		return -1;
	}
}

/* gw_finalize runs atexit handlers, joins Python's non-daemon threads and
 * frees the interpreter. It must run on the thread that ran gw_init, after
 * every request has ended; nothing may call into Python afterwards. */
void gw_finalize(void)
{
	PyEval_RestoreThread(main_ts);
	Py_CLEAR(format_exc);
	Py_CLEAR(gw_timeout_exc);
	Py_CLEAR(gw_gone_exc);
	Py_CLEAR(gw_bootstrap);
	for (int i = 0; i < GW_KEY_TABLE; i++)
		Py_CLEAR(gw_keys[i]);
	Py_FinalizeEx();
	gw_forget_names(); /* after: finalization may still use them */
	main_ts = NULL;
}

int gw_version(void)
{
	return PY_VERSION_HEX;
}

/* gw_format_exception takes the raised exception (the caller holds the GIL)
 * and returns its traceback as malloc'd UTF-8 text, clearing the error. */
char *gw_format_exception(Py_ssize_t *len)
{
	PyObject *type, *value, *tb, *text = NULL;
	const char *s = "unknown Python error (no exception set)";
	Py_ssize_t n;

	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	if (type != NULL && format_exc != NULL) {
		text = PyObject_CallFunctionObjArgs(format_exc, type,
			value ? value : Py_None, tb ? tb : Py_None, NULL);
		if (text == NULL) {
			PyErr_Clear();
			s = "Python error (its traceback could not be formatted)";
		}
	} else if (type != NULL) {
		s = "Python error while starting (no traceback module yet)";
	}
	/* text is a str owned here; s borrows its UTF-8 buffer until the decref. */
	if (text != NULL) {
		s = PyUnicode_AsUTF8AndSize(text, &n);
		if (s == NULL) {
			PyErr_Clear();
			s = "Python error (traceback not encodable)";
		}
	}
	n = strlen(s);
	char *out = malloc(n + 1);
	if (out != NULL)
		memcpy(out, s, n + 1);
	*len = out ? n : 0;
	Py_XDECREF(text);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	return out;
}

/* gw_dump_stacks takes the GIL, formats every Python thread's stack
 * (_gowsgi.dump_stacks) and gives the GIL back before returning: the text
 * is written out with the GIL released. *out is malloc'd UTF-8: the
 * stacks when it returns 0, a traceback when -1. */
int gw_dump_stacks(char **out, Py_ssize_t *len)
{
	int rc = -1;
	gw_acquire();
	PyObject *f = PyObject_GetAttrString(gw_bootstrap, "dump_stacks");
	PyObject *text = f ? PyObject_CallObject(f, NULL) : NULL;
	Py_XDECREF(f);
	const char *s = NULL;
	Py_ssize_t n = 0;
	if (text != NULL)
		s = PyUnicode_AsUTF8AndSize(text, &n);
	if (s == NULL) {
		*out = gw_format_exception(len);
	} else {
		*out = malloc(n + 1);
		if (*out != NULL) {
			memcpy(*out, s, n + 1);
			*len = n;
			rc = 0;
		} else {
			*len = 0;
		}
	}
	Py_XDECREF(text);
	gw_release();
	return rc;
}
