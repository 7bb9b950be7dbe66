package interp

/*
#include <stdlib.h>
#include "gowsgi.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// ReadSettings runs the Python file at path (or the module named
// "python:pkg.mod"), a settings file such as gunicorn.conf.py, in a
// namespace of its own, and returns its settings as a JSON object:
//
//	{"settings": {"bind": "0.0.0.0:8000", "workers": 5, ...}, "skipped": ["on_starting", ...]}
//
// "settings" holds the file's public names whose values are None, bools,
// numbers, strings, or lists, tuples and dicts of them; "skipped" names
// the other public ones (server hooks and other functions, objects).
// Imported modules are left out. The interpreter must be started; the
// file runs with everything it imports staying imported, so a program
// reads settings in a process of its own before it serves.
func ReadSettings(path string) ([]byte, error) {
	if !Running() {
		return nil, errors.New("interp: ReadSettings: Python is not running (call Start first)")
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var n C.Py_ssize_t
	var cerr *C.char
	// out is malloc'd by the C side and ours to free once copied.
	out := C.gw_read_settings(cpath, &n, &cerr)
	if out == nil {
		return nil, fmt.Errorf("reading the settings in %s:\n%s", path, takeError(cerr))
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
}
