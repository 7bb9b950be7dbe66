/* filewrapper.c: wsgi.file_wrapper. Returned by an app for a real file, it
 * lets Go send the file with sendfile(2) and the GIL released; for any other
 * file-like object it is a plain iterable of blocks. */
#include "gowsgi.h"

typedef struct {
	PyObject_HEAD
	PyObject *filelike;
	PyObject *blksize; /* an int, owned: read()'s argument for every block */
} gw_filewrapper;

static PyObject *fw_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"filelike", "blksize", NULL};
	PyObject *filelike;
	Py_ssize_t blksize = 8192;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|n:file_wrapper", kwlist, &filelike, &blksize))
		return NULL;
	if (blksize <= 0)
		return PyErr_Format(PyExc_ValueError, "file_wrapper: blksize must be positive");
	gw_filewrapper *fw = (gw_filewrapper *)type->tp_alloc(type, 0);
	if (fw == NULL)
		return NULL;
	if ((fw->blksize = PyLong_FromSsize_t(blksize)) == NULL) {
		Py_DECREF(fw);
		return NULL;
	}
	Py_INCREF(filelike);
	fw->filelike = filelike;
	return (PyObject *)fw;
}

static PyObject *fw_next(gw_filewrapper *fw)
{
	PyObject *b = PyObject_CallMethodOneArg(fw->filelike, gw_str_read, fw->blksize);
	if (b != NULL && PyBytes_Check(b) && PyBytes_GET_SIZE(b) == 0)
		Py_CLEAR(b); /* the end: StopIteration */
	return b;
}

static PyObject *fw_close(gw_filewrapper *fw, PyObject *unused)
{
	PyObject *close = PyObject_GetAttr(fw->filelike, gw_str_close);
	if (close == NULL) {
		if (!PyErr_ExceptionMatches(PyExc_AttributeError))
			return NULL;
		PyErr_Clear();
		Py_RETURN_NONE;
	}
	PyObject *r = PyObject_CallNoArgs(close);
	Py_DECREF(close);
	return r;
}

/* gw_filewrapper_fd finds the descriptor and offset of a wrapped real,
 * regular file. Returns -1 (no exception set) when it is not one. */
int gw_filewrapper_fd(PyObject *o, int *fd, long long *off)
{
	gw_filewrapper *fw = (gw_filewrapper *)o;
	PyObject *r = PyObject_CallMethodNoArgs(fw->filelike, gw_str_fileno);
	if (r == NULL)
		goto no;
	long n = PyLong_AsLong(r);
	Py_DECREF(r);
	if (n < 0 || n > INT_MAX)
		goto no;
	r = PyObject_CallMethodNoArgs(fw->filelike, gw_str_tell);
	if (r == NULL)
		goto no;
	long long pos = PyLong_AsLongLong(r);
	Py_DECREF(r);
	if (pos < 0)
		goto no;
	*fd = (int)n;
	*off = pos;
	return 0;
no:
	PyErr_Clear();
	return -1;
}

static void fw_dealloc(gw_filewrapper *fw)
{
	Py_XDECREF(fw->filelike);
	Py_XDECREF(fw->blksize);
	Py_TYPE(fw)->tp_free((PyObject *)fw);
}

static PyMethodDef fw_methods[] = {
	{"close", (PyCFunction)fw_close, METH_NOARGS, "close(): close the wrapped file."},
	{NULL},
};

PyTypeObject gw_FileWrapperType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "gowsgi.FileWrapper",
	.tp_basicsize = sizeof(gw_filewrapper),
	.tp_dealloc = (destructor)fw_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "wsgi.file_wrapper(filelike, blksize=8192)",
	.tp_new = fw_new,
	.tp_iter = PyObject_SelfIter,
	.tp_iternext = (iternextfunc)fw_next,
	.tp_methods = fw_methods,
};

int gw_types_ready(void)
{
	if (PyType_Ready(&gw_ReqType) < 0 || PyType_Ready(&gw_InputType) < 0 ||
	    PyType_Ready(&gw_ErrorsType) < 0 || PyType_Ready(&gw_FileWrapperType) < 0)
		return -1;
	return 0;
}
