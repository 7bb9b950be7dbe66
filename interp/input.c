/* input.c: wsgi.input. A body Go read before the request took a slot is
 * served from memory; any other body is read from Go on demand, with the GIL
 * released. Reads stop at the end of the body (Go's request body ends at
 * Content-Length, or at the last chunk) and then return b"". */
#include "gowsgi.h"

typedef struct {
	PyObject_HEAD
	uintptr_t call;  /* Go handle to read more from; 0 when there is no more */
	PyObject *whole; /* a pre-read body: bytes, owned; NULL when streaming */
	char *buf;       /* the bytes not yet consumed are buf[pos:end] */
	Py_ssize_t pos, end, cap;
	int eof;
} gw_input;

enum { CHUNK = 16384 };

PyObject *gw_input_new(const char *body, Py_ssize_t len, int stream, uintptr_t call)
{
	gw_input *in = PyObject_New(gw_input, &gw_InputType);
	if (in == NULL)
		return NULL;
	in->call = 0;
	in->whole = NULL;
	in->buf = NULL;
	in->pos = in->end = in->cap = 0;
	in->eof = 1;
	if (stream) {
		in->call = call;
		in->eof = 0;
	} else if (len > 0) {
		in->whole = PyBytes_FromStringAndSize(body, len); /* a copy of Go's buffer */
		if (in->whole == NULL) {
			Py_DECREF(in);
			return NULL;
		}
		in->buf = PyBytes_AS_STRING(in->whole);
		in->end = len;
	}
	return (PyObject *)in;
}

/* gw_input_end cuts the input off from Go when the request ends. */
void gw_input_end(PyObject *o)
{
	gw_input *in = (gw_input *)o;
	in->call = 0;
	in->eof = 1;
}

/* pull reads up to n bytes from Go into dst, with the GIL released.
 * Returns the count (0 at the end of the body) or -1 with OSError set
 * (gowsgiRead says why: GW_READ_*). */
static Py_ssize_t pull(gw_input *in, char *dst, Py_ssize_t n)
{
	Py_ssize_t got;
	uintptr_t call = in->call;

	if (in->eof || call == 0)
		return 0;
	Py_BEGIN_ALLOW_THREADS
	got = gowsgiRead(call, dst, n);
	Py_END_ALLOW_THREADS
	if (got == GW_READ_TIMEOUT) {
		in->eof = 1;
		PyErr_SetString(PyExc_OSError, "wsgi.input: the client sent the request body too slowly (timed out)");
		return -1;
	}
	if (got == GW_READ_TOO_LARGE) {
		in->eof = 1;
		PyErr_SetString(PyExc_OSError, "wsgi.input: the request body is larger than the server allows");
		return -1;
	}
	if (got < 0) {
		in->eof = 1;
		PyErr_SetString(PyExc_OSError, "wsgi.input: reading the request body failed (the client went away, timed out or sent a malformed body)");
		return -1;
	}
	if (got == 0)
		in->eof = 1;
	return got;
}

/* fill reads more into the buffer, making room for at least want bytes.
 * Returns bytes added, 0 at the end, -1 on error. */
static Py_ssize_t fill(gw_input *in, Py_ssize_t want)
{
	if (in->eof)
		return 0;
	if (in->pos > 0) { /* streaming buffers are ours: move the rest down */
		memmove(in->buf, in->buf + in->pos, in->end - in->pos);
		in->end -= in->pos;
		in->pos = 0;
	}
	if (want < CHUNK)
		want = CHUNK;
	if (in->cap - in->end < want) {
		Py_ssize_t cap = in->cap ? in->cap : CHUNK;
		while (cap - in->end < want)
			cap *= 2;
		char *b = PyMem_Realloc(in->buf, cap);
		if (b == NULL) {
			PyErr_NoMemory();
			return -1;
		}
		in->buf = b;
		in->cap = cap;
	}
	Py_ssize_t n = pull(in, in->buf + in->end, in->cap - in->end);
	if (n > 0)
		in->end += n;
	return n;
}

/* take returns the next n buffered bytes as a new reference: all of a
 * pre-read body, asked for at once (read(), read(CONTENT_LENGTH)), is the
 * bytes object itself, not a copy of it. */
static PyObject *take(gw_input *in, Py_ssize_t n)
{
	if (in->whole != NULL && in->pos == 0 && n == in->end) {
		in->pos = in->end;
		Py_INCREF(in->whole);
		return in->whole;
	}
	PyObject *b = PyBytes_FromStringAndSize(in->buf + in->pos, n);
	if (b != NULL)
		in->pos += n;
	return b;
}

static int size_arg(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t *size)
{
	*size = -1;
	if (nargs > 1) {
		PyErr_SetString(PyExc_TypeError, "expected at most one argument");
		return -1;
	}
	if (nargs == 1 && args[0] != Py_None) {
		*size = PyNumber_AsSsize_t(args[0], PyExc_OverflowError);
		if (*size == -1 && PyErr_Occurred())
			return -1;
	}
	return 0;
}

static PyObject *input_read(gw_input *in, PyObject *const *args, Py_ssize_t nargs)
{
	Py_ssize_t size;
	if (size_arg(args, nargs, &size) < 0)
		return NULL;
	if (size < 0) {
		Py_ssize_t n;
		while ((n = fill(in, in->end - in->pos)) > 0)
			;
		return n < 0 ? NULL : take(in, in->end - in->pos);
	}
	Py_ssize_t have = in->end - in->pos;
	if (have >= size || in->eof)
		return take(in, have < size ? have : size);
	/* Read the rest straight into the result. */
	PyObject *b = PyBytes_FromStringAndSize(NULL, size);
	if (b == NULL)
		return NULL;
	char *p = PyBytes_AS_STRING(b);
	memcpy(p, in->buf + in->pos, have);
	in->pos = in->end;
	while (have < size) {
		Py_ssize_t n = pull(in, p + have, size - have);
		if (n < 0) {
			Py_DECREF(b);
			return NULL;
		}
		if (n == 0)
			break;
		have += n;
	}
	if (have < size && _PyBytes_Resize(&b, have) < 0)
		return NULL;
	return b;
}

static PyObject *readline(gw_input *in, Py_ssize_t size)
{
	Py_ssize_t scanned = 0;
	for (;;) {
		Py_ssize_t have = in->end - in->pos;
		Py_ssize_t limit = size >= 0 && size < have ? size : have;
		char *nl = limit > scanned ? memchr(in->buf + in->pos + scanned, '\n', limit - scanned) : NULL;
		if (nl != NULL)
			return take(in, nl - (in->buf + in->pos) + 1);
		if ((size >= 0 && have >= size) || in->eof)
			return take(in, limit);
		scanned = limit;
		if (fill(in, 0) < 0)
			return NULL;
	}
}

static PyObject *input_readline(gw_input *in, PyObject *const *args, Py_ssize_t nargs)
{
	Py_ssize_t size;
	if (size_arg(args, nargs, &size) < 0)
		return NULL;
	return readline(in, size);
}

static PyObject *input_readlines(gw_input *in, PyObject *const *args, Py_ssize_t nargs)
{
	Py_ssize_t hint, total = 0;
	if (size_arg(args, nargs, &hint) < 0)
		return NULL;
	PyObject *lines = PyList_New(0);
	while (lines != NULL) {
		PyObject *line = readline(in, -1);
		if (line == NULL) {
			Py_CLEAR(lines);
			break;
		}
		Py_ssize_t n = PyBytes_GET_SIZE(line);
		int err = n > 0 ? PyList_Append(lines, line) : 0;
		Py_DECREF(line);
		if (err < 0)
			Py_CLEAR(lines);
		total += n;
		if (n == 0 || (hint > 0 && total >= hint))
			break;
	}
	return lines;
}

static PyObject *input_next(gw_input *in)
{
	PyObject *line = readline(in, -1);
	if (line != NULL && PyBytes_GET_SIZE(line) == 0)
		Py_CLEAR(line); /* NULL without an exception: StopIteration */
	return line;
}

static void input_dealloc(gw_input *in)
{
	if (in->whole != NULL)
		Py_DECREF(in->whole);
	else
		PyMem_Free(in->buf);
	PyObject_Free(in);
}

static PyMethodDef input_methods[] = {
	{"read", (PyCFunction)(void (*)(void))input_read, METH_FASTCALL,
	 "read(size=-1): up to size bytes of the body; all of the rest without size."},
	{"readline", (PyCFunction)(void (*)(void))input_readline, METH_FASTCALL,
	 "readline(size=-1): one line, with its newline, of at most size bytes."},
	{"readlines", (PyCFunction)(void (*)(void))input_readlines, METH_FASTCALL,
	 "readlines(hint=-1): a list of lines, stopping once hint bytes were read."},
	{NULL},
};

PyTypeObject gw_InputType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "gowsgi.Input",
	.tp_basicsize = sizeof(gw_input),
	.tp_dealloc = (destructor)input_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "wsgi.input: the request body",
	.tp_iter = PyObject_SelfIter,
	.tp_iternext = (iternextfunc)input_next,
	.tp_methods = input_methods,
};
