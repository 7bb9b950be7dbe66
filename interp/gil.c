/* gil.c: whether some thread holds the GIL right now, for the gate (gate.go)
 * to tell a request computing in Python from one waiting on I/O with the GIL
 * released. CPython has no public API for this, so this one file reads the
 * GIL's "locked" flag through the internal headers, per version; it only
 * reads, and an unknown layout answers -1 (the gate then goes by time). */
#define Py_BUILD_CORE 1
#include <Python.h>

#if PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030C0000
#include "internal/pycore_runtime.h"
int gw_gil_locked(void)
{
	return _Py_atomic_load_relaxed(&_PyRuntime.ceval.gil.locked);
}
#elif PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
#include "internal/pycore_interp.h"
int gw_gil_locked(void)
{
	PyInterpreterState *interp = PyInterpreterState_Main();
	return interp ? _Py_atomic_load_relaxed(&interp->ceval.gil->locked) : -1;
}
#elif PY_VERSION_HEX >= 0x030D0000 && PY_VERSION_HEX < 0x030E0000 && !defined(Py_GIL_DISABLED)
#include "internal/pycore_interp.h"
int gw_gil_locked(void)
{
	PyInterpreterState *interp = PyInterpreterState_Main();
	return interp ? _Py_atomic_load_int_relaxed(&interp->ceval.gil->locked) : -1;
}
#else
int gw_gil_locked(void)
{
	return -1;
}
#endif
