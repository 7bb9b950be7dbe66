/* wsgi_errors.c: wsgi.errors, a text stream whose lines go to the handler's
 * *slog.Logger. One per app. The complete lines of each write() make one
 * record; a partial line waits for its newline or flush(). */
#include "gowsgi.h"

typedef struct {
	PyObject_HEAD
	uintptr_t app; /* Go handle of the app's logger */
	char *buf;     /* the unfinished line */
	Py_ssize_t len, cap;
} gw_errors;

/* gw_errors_new makes the wsgi.errors of the app whose Go handle is app.
 * Returns a new reference, or NULL with *err set to the traceback. */
PyObject *gw_errors_new(uintptr_t app, char **err)
{
	gw_acquire();
	gw_errors *e = PyObject_New(gw_errors, &gw_ErrorsType);
	if (e != NULL) {
		e->app = app;
		e->buf = NULL;
		e->len = e->cap = 0;
	} else {
		Py_ssize_t n;
		*err = gw_format_exception(&n);
	}
	gw_release();
	return (PyObject *)e;
}

/* emit sends n bytes of buf as one log record. The bytes are copied first:
 * another thread may write to the stream while the GIL is released. */
static void emit(gw_errors *e, Py_ssize_t n)
{
	char *line = PyMem_RawMalloc(n ? n : 1);
	if (line == NULL)
		return;
	memcpy(line, e->buf, n);
	memmove(e->buf, e->buf + n, e->len - n);
	e->len -= n;
	Py_ssize_t m = n > 0 && line[n - 1] == '\n' ? n - 1 : n;
	uintptr_t app = e->app;
	Py_BEGIN_ALLOW_THREADS
	gowsgiLog(app, line, m);
	Py_END_ALLOW_THREADS
	PyMem_RawFree(line);
}

static int append(gw_errors *e, PyObject *s)
{
	Py_ssize_t n;
	const char *p;
	if (!PyUnicode_Check(s)) {
		PyErr_Format(PyExc_TypeError, "wsgi.errors takes str, not %.100s", Py_TYPE(s)->tp_name);
		return -1;
	}
	if ((p = PyUnicode_AsUTF8AndSize(s, &n)) == NULL)
		return -1;
	if (e->len + n > e->cap) {
		Py_ssize_t cap = e->cap ? e->cap : 256;
		while (cap < e->len + n)
			cap *= 2;
		char *b = PyMem_Realloc(e->buf, cap);
		if (b == NULL) {
			PyErr_NoMemory();
			return -1;
		}
		e->buf = b;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, p, n);
	e->len += n;
	/* Everything up to the last newline is one record: Python's logging
	 * writes a record, traceback and all, in one write(). */
	for (Py_ssize_t i = e->len; i > 0; i--)
		if (e->buf[i - 1] == '\n') {
			emit(e, i);
			break;
		}
	return 0;
}

static PyObject *errors_write(gw_errors *e, PyObject *s)
{
	if (append(e, s) < 0)
		return NULL;
	return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(s));
}

static PyObject *errors_writelines(gw_errors *e, PyObject *seq)
{
	PyObject *it = PyObject_GetIter(seq), *s;
	if (it == NULL)
		return NULL;
	while ((s = PyIter_Next(it)) != NULL) {
		int err = append(e, s);
		Py_DECREF(s);
		if (err < 0)
			break;
	}
	Py_DECREF(it);
	if (PyErr_Occurred())
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *errors_flush(gw_errors *e, PyObject *unused)
{
	if (e->len > 0)
		emit(e, e->len);
	Py_RETURN_NONE;
}

void gw_errors_flush(PyObject *o)
{
	gw_acquire();
	PyObject *r = errors_flush((gw_errors *)o, NULL);
	Py_XDECREF(r);
	gw_release();
}

static void errors_dealloc(gw_errors *e)
{
	PyMem_Free(e->buf);
	PyObject_Free(e);
}

static PyMethodDef errors_methods[] = {
	{"write", (PyCFunction)errors_write, METH_O, "write(s): log s, a line at a time."},
	{"writelines", (PyCFunction)errors_writelines, METH_O, "writelines(lines): write each."},
	{"flush", (PyCFunction)errors_flush, METH_NOARGS, "flush(): log an unfinished line now."},
	{NULL},
};

PyTypeObject gw_ErrorsType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "gowsgi.Errors",
	.tp_basicsize = sizeof(gw_errors),
	.tp_dealloc = (destructor)errors_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "wsgi.errors: writes to the server's log",
	.tp_methods = errors_methods,
};
