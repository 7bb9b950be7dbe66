/* app.c: importing apps, and the per-app template environ. Called from Go
 * without the GIL; each function takes it and gives it back. */
#include "gowsgi.h"

/* call_bootstrap calls _gowsgi.<name>(arg) with the GIL held and returns
 * the new reference it gave, or NULL with *err set to the traceback. */
static PyObject *call_bootstrap(const char *name, const char *arg, char **err)
{
	PyObject *r = PyObject_CallMethod(gw_bootstrap, name, "s", arg);
	if (r == NULL) {
		Py_ssize_t n;
		*err = gw_format_exception(&n);
	}
	return r;
}

PyObject *gw_load(const char *spec, char **err)
{
	gw_acquire();
	PyObject *app = call_bootstrap("load", spec, err);
	gw_release();
	return app; /* owned by the Go App until gw_decref */
}

int gw_add_path(const char *path, char **err)
{
	gw_acquire();
	PyObject *r = call_bootstrap("add_path", path, err);
	Py_XDECREF(r);
	gw_release();
	return r ? 0 : -1;
}

int gw_fix_executable(const char *want, char **err)
{
	gw_acquire();
	PyObject *r = call_bootstrap("fix_executable", want, err);
	Py_XDECREF(r);
	gw_release();
	return r ? 0 : -1;
}

/* gw_read_settings runs the settings file at path (bootstrap.read_settings)
 * and returns its JSON text, *n bytes, in memory the caller frees; or NULL
 * with *err set to the traceback. No Python object outlives the call. */
char *gw_read_settings(const char *path, Py_ssize_t *n, char **err)
{
	char *out = NULL;
	gw_acquire();
	PyObject *r = call_bootstrap("read_settings", path, err);
	if (r != NULL) {
		const char *s = PyUnicode_AsUTF8AndSize(r, n); /* borrowed from r */
		if (s == NULL) {
			Py_ssize_t len;
			*err = gw_format_exception(&len);
		} else if ((out = malloc(*n)) != NULL) {
			memcpy(out, s, *n);
		}
		Py_DECREF(r);
	}
	gw_release();
	return out;
}

void gw_decref(PyObject *o)
{
	gw_acquire();
	Py_XDECREF(o);
	gw_release();
}

/* gw_template builds the dict every request's environ is copied from: the
 * entries that never change for this app. Returns a new reference, or
 * NULL with *err set to the traceback. */
PyObject *gw_template(PyObject *errors, int multithread, int multiprocess, char **err)
{
	gw_acquire();
	PyObject *d = PyDict_New();
	PyObject *version = Py_BuildValue("(ii)", 1, 0);
	PyObject *software = PyUnicode_FromString("gowsgi");
	int bad = d == NULL || version == NULL || software == NULL ||
		PyDict_SetItem(d, gw_str_wsgi_version, version) < 0 ||
		PyDict_SetItem(d, gw_str_wsgi_errors, errors) < 0 ||
		PyDict_SetItem(d, gw_str_wsgi_multithread, multithread ? Py_True : Py_False) < 0 ||
		PyDict_SetItem(d, gw_str_wsgi_multiprocess, multiprocess ? Py_True : Py_False) < 0 ||
		PyDict_SetItem(d, gw_str_wsgi_run_once, Py_False) < 0 ||
		PyDict_SetItem(d, gw_str_wsgi_file_wrapper, (PyObject *)&gw_FileWrapperType) < 0 ||
		PyDict_SetItem(d, gw_str_wsgi_input_terminated, Py_False) < 0 ||
		PyDict_SetItem(d, gw_str_server_software, software) < 0;
	Py_XDECREF(version);
	Py_XDECREF(software);
	if (bad) {
		Py_ssize_t n;
		*err = gw_format_exception(&n);
		Py_CLEAR(d);
	}
	gw_release();
	return d;
}

PyObject *gw_keys[GW_KEY_TABLE];

/* gw_set_keys interns the environ key table: keys is the NUL-separated list
 * of environ.Keys, in id order. Called once, at start-up. Returns how many
 * it interned (at most GW_KEY_TABLE), or -1 with *err set to the
 * traceback. */
int gw_set_keys(const char *keys, Py_ssize_t len, char **err)
{
	int id = 0;
	gw_acquire();
	for (const char *p = keys; p < keys + len && id < GW_KEY_TABLE; id++) {
		Py_XSETREF(gw_keys[id], PyUnicode_InternFromString(p));
		if (gw_keys[id] == NULL) {
			Py_ssize_t n;
			*err = gw_format_exception(&n);
			id = -1;
			break;
		}
		p += strlen(p) + 1;
	}
	gw_release();
	return id;
}

static uint32_t get_u32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

/* gw_build_environ copies the template and adds the packed variables built
 * by Go's environ.Build: records of a key id (GW_LITERAL_KEY: a uint32
 * length and the key follow), a uint32 length and the value, decoded as latin-1.
 * Returns a new reference, or NULL with an exception set. */
PyObject *gw_build_environ(PyObject *tmpl, const char *env, Py_ssize_t len)
{
	PyObject *d = PyDict_Copy(tmpl);
	const char *p = env, *end = env + len;

	if (d == NULL)
		return NULL;
	while (p < end) {
		int id = (unsigned char)*p++;
		PyObject *key, *val;
		uint32_t n;

		if (id == GW_LITERAL_KEY) {
			if (end - p < 4 || (n = get_u32(p)) > (uint32_t)(end - p - 4))
				goto bad;
			key = PyUnicode_DecodeLatin1(p + 4, n, NULL); /* new */
			p += 4 + n;
		} else {
			key = gw_keys[id]; /* borrowed from the table */
			if (key == NULL)
				goto bad;
			Py_INCREF(key);
		}
		if (key == NULL)
			goto fail;
		if (end - p < 4 || (n = get_u32(p)) > (uint32_t)(end - p - 4)) {
			Py_DECREF(key);
			goto bad;
		}
		val = PyUnicode_DecodeLatin1(p + 4, n, NULL);
		p += 4 + n;
		if (val == NULL || PyDict_SetItem(d, key, val) < 0) {
			Py_DECREF(key);
			Py_XDECREF(val);
			goto fail;
		}
		Py_DECREF(key);
		Py_DECREF(val);
	}
	return d;
bad:
	PyErr_SetString(PyExc_SystemError, "gowsgi: malformed packed environ");
fail:
	Py_DECREF(d);
	return NULL;
}
