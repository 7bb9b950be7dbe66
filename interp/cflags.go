//go:build !pydebug && !pystatic

package interp

// The default build links the system's Python through pkg-config
// (Debian: python3-dev provides python3-embed.pc). Point PKG_CONFIG_PATH at
// another installation's lib/pkgconfig to build against it instead.

// #cgo pkg-config: python3-embed
// #cgo CFLAGS: -O2 -Wall -Wno-unused-function
// #cgo LDFLAGS: -ldl
import "C"
