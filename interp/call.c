/* call.c: one request, from the app call to close(), in one gw_run. The
 * request's state lives in its start_response object (gw_req): gw_run
 * holds one reference until the request ends, the app may hold others. */
#include "gowsgi.h"

struct gw_req {
	PyObject_HEAD
	uintptr_t call;     /* Go handle of the Call serving us; 0 once the request ended */
	PyObject *packed;   /* bytes: the validated status and headers, packed for Go */
	int sent;           /* packed has gone to Go */
	PyObject *result;   /* what the app returned; close() is called on it once */
	PyObject *iter;     /* iterator over result; NULL for a list or tuple */
	Py_ssize_t pos;     /* list or tuple: the next item */
	PyObject *block;    /* the block lent to Go as res->ext, until the next call */
	PyObject *input;    /* wsgi.input */
	int closed;
	long long held;     /* bytes put in the ring since this thread last let the GIL go */
	int puts;           /* blocks put in the ring since then */
};

/* ---- start_response and write ---- */

static PyObject *req_write(gw_req *self, PyObject *data)
{
	const char *hdr = NULL;
	Py_ssize_t hdr_len = 0;
	int rc;

	if (!PyBytes_Check(data))
		return PyErr_Format(PyExc_TypeError,
			"write() takes bytes, not %.100s", Py_TYPE(data)->tp_name);
	if (self->call == 0)
		return PyErr_Format(PyExc_RuntimeError, "write() called after the response ended");
	if (self->packed == NULL)
		return PyErr_Format(PyExc_AssertionError, "write() called before start_response()");
	if (PyBytes_GET_SIZE(data) == 0)
		Py_RETURN_NONE;
	PyObject *packed = self->packed;
	if (!self->sent) {
		hdr = PyBytes_AS_STRING(packed);
		hdr_len = PyBytes_GET_SIZE(packed);
		self->sent = 1;
	}
	/* Keep both buffers alive while the GIL is released for the write. */
	Py_INCREF(data);
	Py_INCREF(packed);
	Py_BEGIN_ALLOW_THREADS
	rc = gowsgiWrite(self->call, (char *)hdr, hdr_len, PyBytes_AS_STRING(data),
			 PyBytes_GET_SIZE(data));
	Py_END_ALLOW_THREADS
	Py_DECREF(data);
	Py_DECREF(packed);
	if (rc < 0)
		return PyErr_Format(PyExc_OSError, "write(): the client is gone");
	Py_RETURN_NONE;
}

static PyMethodDef write_def = {"write", (PyCFunction)req_write, METH_O,
	"write(data): send bytes to the client now (PEP 3333's imperative API)."};

static PyObject *req_call(gw_req *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"status", "response_headers", "exc_info", NULL};
	PyObject *status, *headers, *exc_info = Py_None, *packed;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:start_response", kwlist,
					 &status, &headers, &exc_info))
		return NULL;
	if (exc_info != Py_None) {
		if (self->sent) {
			/* Too late to change the response: re-raise the app's error. */
			PyObject *t, *v, *tb;
			if (!PyArg_ParseTuple(exc_info, "OOO:exc_info", &t, &v, &tb))
				return NULL;
			Py_INCREF(t);
			Py_INCREF(v);
			Py_INCREF(tb);
			PyErr_Restore(t, v, tb == Py_None ? (Py_DECREF(tb), NULL) : tb);
			return NULL;
		}
	} else if (self->packed != NULL) {
		return PyErr_Format(PyExc_AssertionError,
			"start_response() called a second time without exc_info");
	}
	if (self->call == 0)
		return PyErr_Format(PyExc_RuntimeError, "start_response() called after the response ended");
	if (gw_pack_start_response(status, headers, &packed) < 0)
		return NULL;
	Py_XSETREF(self->packed, packed);
	return PyCFunction_New(&write_def, (PyObject *)self);
}

static void req_dealloc(gw_req *self)
{
	Py_XDECREF(self->packed);
	Py_XDECREF(self->result);
	Py_XDECREF(self->iter);
	Py_XDECREF(self->block);
	Py_XDECREF(self->input);
	PyObject_Free(self);
}

PyTypeObject gw_ReqType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "gowsgi.start_response",
	.tp_basicsize = sizeof(gw_req),
	.tp_dealloc = (destructor)req_dealloc,
	.tp_call = (ternaryfunc)req_call,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "start_response(status, response_headers, exc_info=None) -> write",
};

/* ---- running the app ---- */

/* fail_text appends the current exception's traceback to *err. */
static void fail_text(gw_result *res)
{
	Py_ssize_t n;
	char *t = gw_format_exception(&n);
	if (t == NULL)
		return;
	if (res->err == NULL) {
		res->err = t;
		res->err_len = n;
		return;
	}
	const char *sep = "\n\nWhile calling close() after that error:\n";
	size_t m = strlen(sep);
	char *both = realloc(res->err, res->err_len + m + n + 1);
	if (both != NULL) {
		memcpy(both + res->err_len, sep, m);
		memcpy(both + res->err_len + m, t, n + 1);
		res->err = both;
		res->err_len += m + n;
	}
	free(t);
}

/* close_result calls result.close() once, if it has one. A request that
 * was interrupted (res->interrupted) ends with that already: an exception
 * not yet delivered to its thread (it was waiting on Go, whose callback
 * failed instead) is withdrawn first, so it cannot land inside close()
 * and skip the app's clean-up. gw_interrupt raises once a request. */
static int close_result(gw_req *req, gw_result *res)
{
	if (req->closed || req->result == NULL)
		return 0;
	req->closed = 1;
	if (res->interrupted)
		PyThreadState_SetAsyncExc(res->thread, NULL);
	if (PyList_CheckExact(req->result) || PyTuple_CheckExact(req->result) ||
	    PyBytes_CheckExact(req->result))
		return 0;
	PyObject *close = PyObject_GetAttr(req->result, gw_str_close);
	if (close == NULL) {
		if (!PyErr_ExceptionMatches(PyExc_AttributeError))
			return -1;
		PyErr_Clear();
		return 0;
	}
	PyObject *r = PyObject_CallNoArgs(close);
	Py_DECREF(close);
	Py_XDECREF(r);
	return r ? 0 : -1;
}

/* end_req drops the request's objects and Go's reference to it. */
static void end_req(gw_req *req)
{
	req->call = 0;
	Py_CLEAR(req->block);
	Py_CLEAR(req->iter);
	Py_CLEAR(req->result);
	if (req->input != NULL)
		gw_input_end(req->input);
	Py_CLEAR(req->input);
	Py_DECREF(req);
}

/* fail records the raised exception, calls close() and ends the request. */
static void fail(gw_req *req, gw_result *res)
{
	fail_text(res);
	if (req != NULL) {
		if (close_result(req, res) < 0)
			fail_text(res);
		end_req(req);
	}
	res->kind = GW_FAIL;
}

/* put_headers copies the packed status and headers to out, once. */
static int put_headers(gw_req *req, char *out, Py_ssize_t cap, gw_result *res)
{
	if (req->sent)
		return 0;
	if (req->packed == NULL) {
		PyErr_SetString(PyExc_RuntimeError,
			"the WSGI app did not call start_response() before its body was sent");
		return -1;
	}
	Py_ssize_t n = PyBytes_GET_SIZE(req->packed);
	if (n > cap) {
		PyErr_Format(PyExc_ValueError, "response headers are %zd bytes, more than the %zd allowed",
			     n, cap);
		return -1;
	}
	memcpy(out, PyBytes_AS_STRING(req->packed), n);
	res->hdr_len = res->out_len = n;
	req->sent = 1;
	return 0;
}

/* next_block returns the next block of the body as a new reference, or
 * NULL at the end (no exception set) or on error (exception set). */
static PyObject *next_block(gw_req *req)
{
	if (req->iter != NULL)
		return PyIter_Next(req->iter);
	if (req->pos >= PySequence_Fast_GET_SIZE(req->result))
		return NULL;
	PyObject *b = PySequence_Fast_GET_ITEM(req->result, req->pos);
	req->pos++;
	Py_INCREF(b);
	return b;
}

/* HOLD_MAX bounds a block kept alive in gw_result.hold between requests;
 * a larger last block costs Go one more call instead. */
#define HOLD_MAX (256 << 10)

/* clock_ns reads one of the clocks the gate's measures use. */
static long long clock_ns(clockid_t clock)
{
	struct timespec ts;
	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* measuring says whether the gate measures this request: res->wall_ns is
 * -1 from gw_run's beginning until it sets it at the end. */
static int measuring(gw_result *res)
{
	return res->wall_ns < 0;
}

/* ring_put copies n bytes at p into the ring, if they fit: 1, or 0 when
 * the writer has not made room for them yet (Go waits for it). The
 * producer's, with the GIL held. */
static int ring_put(gw_ring *r, const char *p, Py_ssize_t n)
{
	long long head = __atomic_load_n(&r->head, __ATOMIC_RELAXED); /* only producers write it */
	long long tail = __atomic_load_n(&r->tail, __ATOMIC_SEQ_CST);
	if (n > r->cap - (head - tail))
		return 0;
	long long at = head % r->cap;
	long long first = n < r->cap - at ? n : r->cap - at;
	memcpy(r->buf + at, p, first);
	memcpy(r->buf, p + first, n - first);
	/* Publish the bytes, then (ring_wants_go) look whether the writer
	 * sleeps: the writer sets idle before it looks at head a last time,
	 * so one of the two sees the other's store. */
	__atomic_store_n(&r->head, head + n, __ATOMIC_SEQ_CST);
	return 1;
}

/* ring_wants_go says whether the producer must call back after a put: to
 * wake a writer that sleeps, or to learn why it failed. */
static int ring_wants_go(gw_ring *r)
{
	return __atomic_load_n(&r->idle, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&r->failed, __ATOMIC_SEQ_CST);
}

/* YIELD_PUTS bounds the blocks produce puts in the ring, with the GIL,
 * between two chances for other threads to take it. */
#define YIELD_PUTS 256

/* yield_gil lets the threads that wait for the GIL in, from produce after
 * a ring's worth of bytes or YIELD_PUTS blocks put without a callback: an
 * iterator that runs no bytecode (one written in C) never meets the eval
 * loop's switch interval. The GIL is released with no object of the
 * request's borrowed: req holds what it needs. Counted for the gate as a
 * callback is (res->wait_ns, and res->yields when another thread took the
 * GIL meanwhile). */
static void yield_gil(gw_req *req, gw_result *res)
{
	long long t0 = measuring(res) ? clock_ns(CLOCK_MONOTONIC) : 0;
	long long switches = gw_gil_switches();
	req->held = 0;
	req->puts = 0;
	gw_release();
	gw_acquire();
	if (measuring(res))
		res->wait_ns += clock_ns(CLOCK_MONOTONIC) - t0;
	/* Only a yield another thread took the GIL in is a switch the gate
	 * must not count as a convoy's (-1: the layout is unknown, count it). */
	if (switches < 0 || gw_gil_switches() != switches)
		res->yields++;
}

/* untaken_interrupt raises, and returns 1, when gw_interrupt raised in
 * this thread and the iterator has produced another block with the
 * exception still pending: an iterator written in C runs no bytecode, so
 * nothing else would ever deliver it, and its body would go on past the
 * deadline (a fast client, blocks larger than the ring). It is raised as
 * the eval loop would have; fail then withdraws the pending one. A
 * generator that took the exception and caught it goes on, as before. */
static int untaken_interrupt(gw_req *req, gw_result *res)
{
	if (!res->interrupted || req->iter == NULL || PyThreadState_Get()->async_exc == NULL)
		return 0;
	PyErr_SetNone(res->interrupted == GW_GONE ? gw_gone_exc : gw_timeout_exc);
	return 1;
}

/* produce fills res with the next non-empty block (headers first, if they
 * have not gone yet), or ends the request. */
static void produce(gw_req *req, char *out, Py_ssize_t cap, gw_result *res)
{
	PyObject *b;

	Py_CLEAR(req->block);
	while ((b = next_block(req)) != NULL) {
		if (untaken_interrupt(req, res)) {
			Py_DECREF(b);
			goto failed;
		}
		if (!PyBytes_Check(b)) {
			PyErr_Format(PyExc_TypeError,
				"the WSGI app's body iterable yielded %.100s, not bytes", Py_TYPE(b)->tp_name);
			Py_DECREF(b);
			goto failed;
		}
		Py_ssize_t n = PyBytes_GET_SIZE(b);
		if (n == 0) {
			Py_DECREF(b);
			continue;
		}
		/* An iterator's block after the headers goes to the stream's
		 * ring (stream.go). Once Go's writer runs, it is copied there
		 * now and the app asked for the next block, without a callback
		 * while the writer is busy sending; before that, or when the
		 * ring is full, it is lent to Go, which starts the writer or
		 * waits for room, and copies it then. */
		int lend = req->iter != NULL && req->sent;
		if (lend && res->ring.on && ring_put(&res->ring, PyBytes_AS_STRING(b), n)) {
			Py_DECREF(b);
			if (ring_wants_go(&res->ring)) {
				res->kind = GW_MORE; /* with nothing in res: see to the writer */
				return;
			}
			req->held += n;
			if (req->held >= res->ring.cap || ++req->puts >= YIELD_PUTS)
				yield_gil(req, res);
			continue;
		}
		if (put_headers(req, out, cap, res) < 0) {
			Py_DECREF(b);
			goto failed;
		}
		if (!lend && n <= cap - res->out_len) {
			memcpy(out + res->out_len, PyBytes_AS_STRING(b), n);
			res->out_len += n;
			Py_DECREF(b);
			/* A list's items are all there: gather as many as fit. An
			 * iterator's block goes out now, before the next is asked for. */
			if (req->iter == NULL)
				continue;
		} else if (res->out_len > res->hdr_len) {
			/* Does not fit behind what we have: it comes next time. */
			req->pos--;
			Py_DECREF(b);
		} else {
			res->ext = PyBytes_AS_STRING(b); /* lent to Go without a copy */
			res->ext_len = n;
			if (req->iter == NULL && req->pos >= PySequence_Fast_GET_SIZE(req->result) &&
			    n <= HOLD_MAX) {
				/* The list's last item: end the request now, in this
				 * call, and keep the block alive for Go in res. */
				res->hold = b;
				goto end;
			}
			req->block = b;
		}
		res->kind = GW_MORE;
		return;
	}
	if (PyErr_Occurred())
		goto failed;
	/* The end: out may still hold the last blocks of a list. */
	if (put_headers(req, out, cap, res) < 0)
		goto failed;
end:
	/* The response is whole: a failing close() is logged (res->err), it
	 * does not spoil what the client gets. */
	if (close_result(req, res) < 0)
		fail_text(res);
	end_req(req);
	res->kind = GW_DONE;
	return;
failed:
	fail(req, res);
}

/* sequence_length is the total size of a list or tuple of bytes, or -1
 * with TypeError raised for an item that is not bytes: nothing of such a
 * body may go out. */
static long long sequence_length(PyObject *seq)
{
	long long total = 0;
	for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
		PyObject *b = PySequence_Fast_GET_ITEM(seq, i);
		if (!PyBytes_Check(b)) {
			PyErr_Format(PyExc_TypeError,
				"the WSGI app's body %.20s holds %.100s at index %zd, not bytes",
				Py_TYPE(seq)->tp_name, Py_TYPE(b)->tp_name, i);
			return -1;
		}
		total += PyBytes_GET_SIZE(b);
	}
	return total;
}

static void reset(gw_result *res)
{
	res->kind = GW_FAIL;
	res->hdr_len = res->out_len = res->ext_len = 0;
	res->ext = NULL;
	res->body_len = -1;
	res->fd = -1;
	res->fd_off = 0;
}

/* drive hands what produce made (a block, GW_MORE, or a file, GW_FILE) to
 * Go and asks for more, until the request is over, all in this call: so
 * the app call, every next() and close() run on this one OS thread, and
 * Go never has to pin its goroutine to it. Go's callback runs without the
 * GIL; the block it sends stays alive in req until produce is called again. */
static void drive(gw_req *req, char *out, Py_ssize_t cap, gw_result *res)
{
	while (res->kind == GW_MORE || res->kind == GW_FILE) {
		int file = res->kind == GW_FILE, rc;

		/* The callback and taking the GIL back are not the app's time. */
		long long t0 = measuring(res) ? clock_ns(CLOCK_MONOTONIC) : 0;
		gw_release();
		rc = gowsgiBlock(req->call);
		gw_acquire();
		req->held = 0;
		req->puts = 0;
		if (measuring(res))
			res->wait_ns += clock_ns(CLOCK_MONOTONIC) - t0;
		reset(res);
		if (rc < 0 || file) {
			/* Go stopped (the client is gone, or what Go checks failed:
			 * c.cbErr says) or the file went out: close() and end. */
			if (close_result(req, res) < 0)
				fail_text(res);
			end_req(req);
			res->kind = rc < 0 ? GW_STOP : GW_DONE;
			return;
		}
		produce(req, out, cap, res);
	}
}

/* gw_interrupt raises, in the thread running request seq of res, if that
 * request still runs, RequestTimeout (why GW_TIMEOUT) or ClientDisconnected
 * (GW_GONE); res->interrupted keeps why. It takes the GIL, so the check
 * and the raise cannot race with the request ending (gw_run clears
 * res->live with the GIL held). The exception is delivered at the thread's
 * next bytecode: a thread blocked in C (a sleep, a socket) gets it only
 * when it comes back. Returns 1 if it was raised now, -1 if there is
 * nothing more to do (the request was interrupted before, or has ended),
 * 0 if the request is not in Python yet: try again later. */
int gw_interrupt(gw_result *res, long long seq, int why)
{
	int rc = -1;
	gw_acquire();
	if (res->seq < seq) {
		rc = 0; /* not yet begun */
	} else if (res->seq == seq && res->live && !res->interrupted) {
		PyObject *exc = why == GW_GONE ? gw_gone_exc : gw_timeout_exc; /* borrowed */
		if (PyThreadState_SetAsyncExc(res->thread, exc) == 1) {
			res->interrupted = why;
			rc = 1;
		}
	}
	gw_release();
	return rc;
}

/* after_interrupt, with the GIL, at the end of a request that got a
 * RequestTimeout: an exception not yet delivered must not hit the
 * thread's next request, and logging's locks the exception may have left
 * held are released (bootstrap.py). */
static void after_interrupt(gw_result *res)
{
	PyObject *r;
	PyThreadState_SetAsyncExc(res->thread, NULL);
	r = PyObject_CallMethodNoArgs(gw_bootstrap, gw_str_release_logging_locks);
	if (r == NULL)
		PyErr_Clear();
	Py_XDECREF(r);
}

void gw_run(PyObject *app, PyObject *tmpl, const char *env, Py_ssize_t env_len,
	      int flags, const char *body, Py_ssize_t body_len, int stream,
	      uintptr_t call, char *out, Py_ssize_t out_cap, int measure, long long seq, gw_result *res)
{
	gw_req *req;
	PyObject *environ = NULL, *result;
	/* The gate's measures (measure): two system calls for the thread's
	 * CPU time and vDSO reads of the clock, made only while requests
	 * contend. */
	long long cpu0 = measure ? clock_ns(CLOCK_THREAD_CPUTIME_ID) : 0;
	long long wall0 = measure ? clock_ns(CLOCK_MONOTONIC) : 0;

	reset(res);
	res->err = NULL;
	res->err_len = 0;
	res->wait_ns = 0;
	res->yields = 0;
	res->wall_ns = measure ? -1 : 0;
	gw_acquire();
	if (measure)
		res->wait_ns = clock_ns(CLOCK_MONOTONIC) - wall0; /* waiting for the GIL */
	res->seq = seq;
	res->thread = PyThread_get_thread_ident();
	res->live = 1;
	res->interrupted = 0;
	Py_CLEAR(res->hold); /* Go is done with the last request's block */
	req = PyObject_New(gw_req, &gw_ReqType);
	if (req == NULL) {
		fail(NULL, res);
		goto out;
	}
	req->call = call;
	req->packed = req->result = req->iter = req->block = NULL;
	req->sent = req->closed = 0;
	req->pos = 0;
	req->held = 0;
	req->puts = 0;
	req->input = gw_input_new(body, body_len, stream, call);
	if (req->input == NULL)
		goto failed;
	environ = gw_build_environ(tmpl, env, env_len);
	if (environ == NULL ||
	    PyDict_SetItem(environ, gw_str_wsgi_input, req->input) < 0 ||
	    ((flags & GW_INPUT_TERMINATED) &&
	     PyDict_SetItem(environ, gw_str_wsgi_input_terminated, Py_True) < 0))
		goto failed;

	result = PyObject_CallFunctionObjArgs(app, environ, (PyObject *)req, NULL);
	Py_CLEAR(environ);
	if (result == NULL)
		goto failed;
	req->result = result;

	if (Py_IS_TYPE(result, &gw_FileWrapperType) && req->packed != NULL &&
	    gw_filewrapper_fd(result, &res->fd, &res->fd_off) == 0) {
		if (put_headers(req, out, out_cap, res) < 0)
			goto failed;
		res->kind = GW_FILE;
		drive(req, out, out_cap, res);
		goto out;
	}
	if (PyList_CheckExact(result) || PyTuple_CheckExact(result)) {
		if ((res->body_len = sequence_length(result)) < 0)
			goto failed;
	} else if ((req->iter = PyObject_GetIter(result)) == NULL) {
		PyErr_Clear();
		PyErr_Format(PyExc_TypeError, "the WSGI app returned %.100s, which is not an iterable of bytes",
			     Py_TYPE(result)->tp_name);
		goto failed;
	}
	produce(req, out, out_cap, res);
	drive(req, out, out_cap, res);
	goto out;
failed:
	Py_XDECREF(environ);
	fail(req, res);
out:
	res->live = 0;
	if (res->interrupted)
		after_interrupt(res);
	gw_release();
	if (measure) {
		res->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
		res->wall_ns = clock_ns(CLOCK_MONOTONIC) - wall0;
	}
}

/* gw_drop_hold releases the block res may still hold (see gw_result). */
void gw_drop_hold(gw_result *res)
{
	if (res->hold == NULL)
		return;
	gw_acquire();
	Py_CLEAR(res->hold);
	gw_release();
}


