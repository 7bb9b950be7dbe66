/* start_response.c: validating and packing what the app gives
 * start_response. The rules mirror Go's response.ParseStatus and
 * response.CheckHeader (the same table of cases tests both); a bad value
 * raises to the app at once. */
#include "gowsgi.h"

/* latin1 returns the bytes of a str whose characters all fit in latin-1
 * (CPython stores such a str as one byte a character), or NULL with a
 * TypeError or ValueError set. */
static const unsigned char *latin1(PyObject *s, const char *what, Py_ssize_t *n)
{
	if (!PyUnicode_Check(s)) {
		PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s", what, Py_TYPE(s)->tp_name);
		return NULL;
	}
#if PY_VERSION_HEX < 0x030C0000
	if (PyUnicode_READY(s) < 0)
		return NULL;
#endif
	if (PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND) {
		PyErr_Format(PyExc_ValueError, "%s %R has characters outside latin-1", what, s);
		return NULL;
	}
	*n = PyUnicode_GET_LENGTH(s);
	return PyUnicode_1BYTE_DATA(s);
}

/* text_ok: HTAB, SP, visible ASCII and obs-text; no CR, LF, NUL, controls or DEL. */
static int text_ok(const unsigned char *p, Py_ssize_t n)
{
	for (Py_ssize_t i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return 0;
	return 1;
}

static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *hop_by_hop[] = {
	"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
	"trailer", "trailers", "transfer-encoding", "upgrade", "proxy-connection", NULL,
};

static int name_is(const unsigned char *p, Py_ssize_t n, const char *lower)
{
	if ((size_t)n != strlen(lower))
		return 0;
	for (Py_ssize_t i = 0; i < n; i++)
		if ((p[i] | 0x20) != (unsigned char)lower[i])
			return 0;
	return 1;
}

static int check_status(PyObject *status, const unsigned char **p, Py_ssize_t *n)
{
	const unsigned char *s = latin1(status, "status", n);
	if (s == NULL)
		return -1;
	*p = s;
	if (*n < 4 || s[3] != ' ' || !Py_ISDIGIT(s[0]) || !Py_ISDIGIT(s[1]) || !Py_ISDIGIT(s[2]) ||
	    s[0] < '2' || s[0] > '5' || !text_ok(s + 4, *n - 4)) {
		PyErr_Format(PyExc_ValueError,
			"invalid status %R: want a code from 200 to 599, one space and a reason "
			"phrase without control characters, like \"200 OK\"", status);
		return -1;
	}
	return 0;
}

static int check_header(PyObject *item, const unsigned char **name, Py_ssize_t *nlen,
			const unsigned char **value, Py_ssize_t *vlen, int *clen_seen)
{
	if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
		PyErr_Format(PyExc_TypeError, "each response header must be a (name, value) tuple, not %R",
			     item);
		return -1;
	}
	PyObject *n = PyTuple_GET_ITEM(item, 0), *v = PyTuple_GET_ITEM(item, 1);
	if ((*name = latin1(n, "header name", nlen)) == NULL ||
	    (*value = latin1(v, "header value", vlen)) == NULL)
		return -1;
	if (*nlen == 0)
		goto bad_name;
	for (Py_ssize_t i = 0; i < *nlen; i++)
		if (!is_tchar((*name)[i]))
			goto bad_name;
	if (!text_ok(*value, *vlen)) {
		PyErr_Format(PyExc_ValueError,
			"header %R has a value with control characters (CR, LF, NUL...): %R", n, v);
		return -1;
	}
	for (const char **h = hop_by_hop; *h != NULL; h++)
		if (name_is(*name, *nlen, *h)) {
			PyErr_Format(PyExc_ValueError,
				"header %R is hop-by-hop: the server manages the connection, a WSGI app may not set it", n);
			return -1;
		}
	if (name_is(*name, *nlen, "content-length")) {
		int ok = *vlen > 0 && !(*clen_seen)++;
		unsigned long long n = 0;
		for (Py_ssize_t i = 0; ok && i < *vlen; i++) {
			unsigned d = (*value)[i] - '0';
			ok = d <= 9 && n <= (9223372036854775807ULL - d) / 10; /* fits int64 */
			n = n * 10 + d;
		}
		if (!ok) {
			PyErr_Format(PyExc_ValueError,
				"Content-Length %R is not a single decimal number", v);
			return -1;
		}
	}
	return 0;
bad_name:
	PyErr_Format(PyExc_ValueError, "invalid header name %R: want an RFC 9110 token like \"Content-Type\"", n);
	return -1;
}

static char *put_u32(char *p, Py_ssize_t v)
{
	uint32_t u = (uint32_t)v;
	p[0] = u;
	p[1] = u >> 8;
	p[2] = u >> 16;
	p[3] = u >> 24;
	return p + 4;
}

/* gw_pack_start_response validates status and headers and packs them for
 * Go as u32 len, status, u32 count, then u32 len, name, u32 len, value for
 * each header (little-endian): the record of interp/doc.go, "The
 * start_response record", which Go's Call.startResponse unpacks. *packed
 * gets a new bytes object. */
int gw_pack_start_response(PyObject *status, PyObject *headers, PyObject **packed)
{
	const unsigned char *s, *name, *value;
	Py_ssize_t slen, nlen, vlen, size, count;
	int clen = 0;

	if (check_status(status, &s, &slen) < 0)
		return -1;
	if (!PyList_Check(headers)) {
		PyErr_Format(PyExc_TypeError, "response_headers must be a list of (name, value) tuples, not %.100s",
			     Py_TYPE(headers)->tp_name);
		return -1;
	}
	count = PyList_GET_SIZE(headers);
	size = 8 + slen;
	for (Py_ssize_t i = 0; i < count; i++) {
		if (check_header(PyList_GET_ITEM(headers, i), &name, &nlen, &value, &vlen, &clen) < 0)
			return -1;
		size += 8 + nlen + vlen;
	}
	*packed = PyBytes_FromStringAndSize(NULL, size);
	if (*packed == NULL)
		return -1;
	char *p = PyBytes_AS_STRING(*packed);
	p = put_u32(p, slen);
	memcpy(p, s, slen);
	p = put_u32(p + slen, count);
	for (Py_ssize_t i = 0; i < count; i++) {
		/* Validated above; the list cannot change in between (we hold the GIL). */
		PyObject *item = PyList_GET_ITEM(headers, i);
		PyObject *n = PyTuple_GET_ITEM(item, 0), *v = PyTuple_GET_ITEM(item, 1);
		nlen = PyUnicode_GET_LENGTH(n);
		vlen = PyUnicode_GET_LENGTH(v);
		p = put_u32(p, nlen);
		memcpy(p, PyUnicode_1BYTE_DATA(n), nlen);
		p = put_u32(p + nlen, vlen);
		memcpy(p, PyUnicode_1BYTE_DATA(v), vlen);
		p += vlen;
	}
	return 0;
}
