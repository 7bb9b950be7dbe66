package interp

/*
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 // as pyconfig.h defines it
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include "gowsgi.h"

// gw_libpath names the file libpython was loaded from ("" if unknown).
static const char *gw_libpath(void) {
	Dl_info info;
	if (dladdr((void *)Py_InitializeFromConfig, &info) && info.dli_fname)
		return info.dli_fname;
	return "";
}
*/
import "C"

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/gowsgi/wsgi/environ"
)

//go:embed bootstrap.py
var bootstrap string

// Config says how to start the interpreter. It applies to the whole process.
type Config struct {
	// Venv is a virtual environment directory to run in: its site-packages
	// are importable and sys.executable is its python. Empty means the one
	// named by $VIRTUAL_ENV, if any.
	Venv string
}

// ErrStopped is returned by Start after Stop: CPython cannot be started
// again in the same process.
var ErrStopped = errors.New("interp: the Python interpreter was stopped and cannot be restarted in this process")

// ErrOtherVenv is wrapped by the error of a Start whose Venv is not the
// one the running interpreter was started with: one process has one
// interpreter, and it cannot change its environment.
var ErrOtherVenv = errors.New("interp: Python already runs in this process with another venv")

var (
	mu      sync.Mutex
	state   int // 0 never started, 1 running, 2 stopped
	current Config
	stopReq chan chan struct{}
)

// Version reports the version of the linked Python, like "3.11.2".
func Version() string {
	v := int(C.gw_version())
	return fmt.Sprintf("%d.%d.%d", v>>24, v>>16&0xff, v>>8&0xff)
}

// Start starts the interpreter, once. A later call with the same Config
// does nothing; one with another Venv fails, since a running interpreter
// cannot change its environment.
func Start(cfg Config) error {
	if cfg.Venv == "" {
		cfg.Venv = os.Getenv("VIRTUAL_ENV")
	}
	if cfg.Venv != "" {
		abs, err := filepath.Abs(cfg.Venv)
		if err != nil {
			return err
		}
		cfg.Venv = abs
	}
	mu.Lock()
	defer mu.Unlock()
	switch state {
	case 1:
		if cfg != current {
			return fmt.Errorf("%w: it runs with %s, not %s", ErrOtherVenv, venvName(current.Venv), venvName(cfg.Venv))
		}
		return nil
	case 2:
		return ErrStopped
	}
	program, err := findProgram(cfg.Venv)
	if err != nil {
		return err
	}
	started := make(chan error)
	stopReq = make(chan chan struct{})
	go mainThread(program, started, stopReq)
	if err := <-started; err != nil {
		state = 2
		return err
	}
	state, current = 1, cfg
	return nil
}

// venvName names a Config.Venv in an error: "venv DIR", or "no venv".
func venvName(dir string) string {
	if dir == "" {
		return "no venv"
	}
	return fmt.Sprintf("venv %q", dir)
}

// Running reports whether the interpreter is started and not stopped.
func Running() bool {
	mu.Lock()
	defer mu.Unlock()
	return state == 1
}

// Stop finalizes the interpreter: atexit handlers run and Python's
// non-daemon threads are joined, on the thread that started it. The caller
// must make sure no request is in flight and none will start; after Stop,
// nothing may call into Python.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if state != 1 {
		state = 2
		return
	}
	state = 2
	done := make(chan struct{})
	stopReq <- done
	<-done
}

// mainThread owns the OS thread that initialises and finalizes Python:
// CPython must finalize on the thread that initialised it, or it hangs once
// threading was imported.
func mainThread(program string, started chan<- error, stop <-chan chan struct{}) {
	runtime.LockOSThread() // for good: this thread is Python's main thread
	if err := initialize(program); err != nil {
		started <- err
		return
	}
	started <- nil
	done := <-stop
	C.gw_finalize()
	close(done)
}

func initialize(program string) error {
	cprog := C.CString(program)
	defer C.free(unsafe.Pointer(cprog))
	cboot := C.CString(bootstrap)
	defer C.free(unsafe.Pointer(cboot))
	var cerr *C.char
	if C.gw_init(cprog, cboot, &cerr) < 0 {
		return fmt.Errorf("interp: starting Python %s: %s", Version(), takeError(cerr))
	}
	keys := strings.Join(environ.Keys[:], "\x00") + "\x00"
	ckeys := C.CString(keys)
	defer C.free(unsafe.Pointer(ckeys))
	n := C.gw_set_keys(ckeys, C.Py_ssize_t(len(keys)), &cerr)
	if n < 0 {
		return fmt.Errorf("interp: interning the environ keys: %s", takeError(cerr))
	}
	if int(n) != len(environ.Keys) {
		return fmt.Errorf("interp: interned %d environ keys of %d", n, len(environ.Keys))
	}
	if C.gw_fix_executable(cprog, &cerr) < 0 {
		return fmt.Errorf("interp: setting sys.executable: %s", takeError(cerr))
	}
	return nil
}

// takeErrorN copies and frees an error text of n bytes made by the C side
// (malloc'd): the one place such a text is freed.
func takeErrorN(cerr *C.char, n C.Py_ssize_t) string {
	if cerr == nil {
		return "unknown error"
	}
	defer C.free(unsafe.Pointer(cerr))
	return C.GoStringN(cerr, C.int(n))
}

// takeError is takeErrorN for a NUL-terminated text.
func takeError(cerr *C.char) string {
	if cerr == nil {
		return "unknown error"
	}
	return takeErrorN(cerr, C.Py_ssize_t(C.strlen(cerr)))
}

// findProgram names the python executable the interpreter should take as
// its own: the venv's, or the one installed beside the linked libpython.
func findProgram(venv string) (string, error) {
	want := fmt.Sprintf("%d.%d", C.PY_MAJOR_VERSION, C.PY_MINOR_VERSION)
	if venv != "" {
		cfg, err := os.ReadFile(filepath.Join(venv, "pyvenv.cfg"))
		if err != nil {
			return "", fmt.Errorf("interp: %s is not a virtual environment (no pyvenv.cfg); create one with: python%s -m venv %s", venv, want, venv)
		}
		if v := venvVersion(string(cfg)); v != "" && v != want && !strings.HasPrefix(v, want+".") {
			return "", fmt.Errorf("interp: virtual environment %s is for Python %s, but gowsgi is built with Python %s; recreate it with python%s -m venv", venv, v, want, want)
		}
		py := filepath.Join(venv, "bin", "python")
		if _, err := os.Stat(py); err != nil {
			return "", fmt.Errorf("interp: virtual environment %s has no bin/python", venv)
		}
		return py, nil
	}
	lib := C.GoString(C.gw_libpath())
	for dir := filepath.Dir(lib); lib != "" && dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		py := filepath.Join(dir, "bin", "python"+want)
		if st, err := os.Stat(py); err == nil && !st.IsDir() {
			return py, nil
		}
	}
	return "", nil // the interpreter's compiled-in prefix; fixed after start
}

// venvVersion reads the Python version from a pyvenv.cfg.
func venvVersion(cfg string) string {
	for _, line := range strings.Split(cfg, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "version", "version_info":
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Stacks returns every Python thread's current stack (sys._current_frames,
// with threading's names), but the caller's own: where each request and
// each of the app's threads is now. It takes the GIL like a request, for
// as long as the formatting takes, and nothing else stops.
func Stacks() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if state != 1 {
		return "", errors.New("interp: Python is not running")
	}
	var out *C.char
	var n C.Py_ssize_t
	if C.gw_dump_stacks(&out, &n) != 0 {
		return "", fmt.Errorf("interp: formatting the stacks: %s", takeErrorN(out, n))
	}
	if out == nil {
		return "", errors.New("interp: formatting the stacks: out of memory")
	}
	return takeErrorN(out, n), nil
}
