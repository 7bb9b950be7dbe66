//go:build pydebug

package interp

// Built with -tags pydebug, the package links Debian's debug interpreter
// (python3.11-dbg, libpython3.11-dbg), whose assertions catch a thread state
// used on the wrong OS thread and whose sys.gettotalrefcount() exposes
// reference leaks.

// #cgo pkg-config: python-3.11d-embed
// #cgo CFLAGS: -O0 -g -Wall -Wno-unused-function
// #cgo LDFLAGS: -ldl
import "C"
