//go:build pystatic && !pydebug

package interp

// Built with -tags pystatic, the package links Debian's static libpython
// (libpython3.11-dev's libpython3.11.a, compiled as /usr/bin/python3.11 is,
// with profile-guided optimisation) into the binary instead of
// libpython3.11.so, and exports the binary's symbols (-Wl,-E) so extension
// modules loaded later (sqlite3, ssl, ctypes, …) find the interpreter's.
// Python then runs 8% fewer instructions on a Django request (callgrind)
// and 8–17% less CPU per request; the binary grows by about 9 MB. The
// shared library is slower because Debian builds it without the
// optimisation its executable gets. scripts/serve.sh and bench/run.sh
// build the CLI this way when the static library is installed.

// #cgo CFLAGS: -I/usr/include/python3.11 -O2 -Wall -Wno-unused-function
// #cgo LDFLAGS: -Wl,-E -Wl,-Bstatic -lpython3.11 -Wl,-Bdynamic -ldl -lm -lexpat -lz -lpthread -lutil
import "C"
