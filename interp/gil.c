/* gil.c: what the gate (gate.go) reads of the GIL, which CPython has no
 * public API for: whether some thread holds it right now (to tell a request
 * computing in Python from one waiting on I/O with the GIL released), and
 * how many times it has passed from one thread to another (requests that
 * take turns on it many times a request are a convoy). Both are read through
 * the internal headers, per version, and only read; an unknown layout
 * answers -1 (the gate then admits everyone, and CPython schedules). */
#define Py_BUILD_CORE 1
#include <Python.h>

#if PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030C0000
#include "internal/pycore_runtime.h"
#define GW_GIL (&_PyRuntime.ceval.gil)
#define GW_LOAD _Py_atomic_load_relaxed
#elif PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
#include "internal/pycore_interp.h"
#define GW_GIL (PyInterpreterState_Main() ? PyInterpreterState_Main()->ceval.gil : NULL)
#define GW_LOAD _Py_atomic_load_relaxed
#elif PY_VERSION_HEX >= 0x030D0000 && PY_VERSION_HEX < 0x030E0000 && !defined(Py_GIL_DISABLED)
#include "internal/pycore_interp.h"
#define GW_GIL (PyInterpreterState_Main() ? PyInterpreterState_Main()->ceval.gil : NULL)
#define GW_LOAD _Py_atomic_load_int_relaxed
#endif

#ifdef GW_GIL
/* gw_gil_locked: 1 a thread holds the GIL, 0 it is free. */
int gw_gil_locked(void)
{
	struct _gil_runtime_state *gil = GW_GIL;
	return gil ? GW_LOAD(&gil->locked) : -1;
}

/* gw_gil_switches: how many times the GIL went to another thread than the
 * one that held it last. CPython updates it under the GIL's mutex; this
 * plain read may be a moment stale, which a count sampled every few
 * milliseconds does not mind. */
long long gw_gil_switches(void)
{
	struct _gil_runtime_state *gil = GW_GIL;
	return gil ? (long long)*(volatile unsigned long *)&gil->switch_number : -1;
}
#else
int gw_gil_locked(void)
{
	return -1;
}

long long gw_gil_switches(void)
{
	return -1;
}
#endif
