package interp

/*
#include <stdlib.h>
#include "gowsgi.h"
*/
import "C"

import (
	"fmt"
	"log/slog"
	"runtime/cgo"
	"unsafe"
)

// App is a loaded WSGI application and its per-app Python state.
type App struct {
	obj    *C.PyObject // the WSGI callable (owned)
	tmpl   *C.PyObject // the template environ (owned)
	errs   *C.PyObject // wsgi.errors (owned)
	handle cgo.Handle  // to this App, for wsgi.errors
	log    *slog.Logger
	fixed  bool // requests are admitted at once (AppOptions.Fixed)

	interruptGone bool // AppOptions.InterruptOnDisconnect
}

// AppOptions are the per-app settings of Load.
type AppOptions struct {
	// PythonPath entries are put first on sys.path, in order, before importing.
	PythonPath []string
	// Multithread and Multiprocess are the wsgi.multithread and
	// wsgi.multiprocess environ values.
	Multithread, Multiprocess bool
	// Log receives wsgi.errors lines. Nil means slog.Default().
	Log *slog.Logger
	// Fixed admits the app's requests into Python as soon as they come,
	// beside the gate's limit (see "The gate" in the package doc): as many
	// run at once as the server lets in. For operators who know their app
	// better than the scheduler.
	Fixed bool
	// InterruptOnDisconnect raises ClientDisconnected (a BaseException) in
	// a request's Python thread as soon as its context is cancelled, which
	// net/http does when the client closes the connection: an app busy on
	// a response no one will read stops at its next bytecode.
	InterruptOnDisconnect bool
}

// Load imports the app named by spec: "module:attr", where attr may be
// dotted ("pkg.mod:obj.app") or a factory call with literal arguments
// ("mod:create_app('prod')"); "module" alone means "module:application".
// The interpreter must be started. An import error carries the Python
// traceback.
func Load(spec string, opt AppOptions) (*App, error) {
	if !Running() {
		return nil, fmt.Errorf("interp: cannot load %q: Python is not running (call Start first)", spec)
	}
	var cerr *C.char
	for i := len(opt.PythonPath) - 1; i >= 0; i-- { // each goes first: keep their order
		p := opt.PythonPath[i]
		cp := C.CString(p)
		rc := C.gw_add_path(cp, &cerr)
		C.free(unsafe.Pointer(cp))
		if rc < 0 {
			return nil, fmt.Errorf("adding %q to sys.path: %s", p, takeError(cerr))
		}
	}
	cspec := C.CString(spec)
	defer C.free(unsafe.Pointer(cspec))
	obj := C.gw_load(cspec, &cerr)
	if obj == nil {
		return nil, &LoadError{Spec: spec, Traceback: takeError(cerr)}
	}
	a := &App{obj: obj, log: opt.Log, fixed: opt.Fixed, interruptGone: opt.InterruptOnDisconnect}
	if a.log == nil {
		a.log = slog.Default()
	}
	limitLog.CompareAndSwap(nil, a.log)
	a.handle = cgo.NewHandle(a)
	if a.errs = C.gw_errors_new(C.uintptr_t(a.handle), &cerr); a.errs == nil {
		a.Close()
		return nil, fmt.Errorf("interp: setting up wsgi.errors for %q: %s", spec, takeError(cerr))
	}
	if a.tmpl = C.gw_template(a.errs, cbool(opt.Multithread), cbool(opt.Multiprocess), &cerr); a.tmpl == nil {
		a.Close()
		return nil, fmt.Errorf("interp: setting up the environ template for %q: %s", spec, takeError(cerr))
	}
	return a, nil
}

// Close drops the app's Python objects. No request may be using it.
func (a *App) Close() {
	if a.errs != nil {
		C.gw_errors_flush(a.errs)
	}
	for _, o := range []**C.PyObject{&a.tmpl, &a.errs, &a.obj} {
		if *o != nil {
			C.gw_decref(*o)
			*o = nil
		}
	}
	if a.handle != 0 {
		a.handle.Delete()
		a.handle = 0
	}
}

// LoadError is an app that failed to import or build.
type LoadError struct {
	Spec      string
	Traceback string // Python's traceback text
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("loading WSGI app %q:\n%s", e.Spec, e.Traceback)
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
