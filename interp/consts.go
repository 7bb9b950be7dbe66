package interp

/*
#include "gowsgi.h"
*/
import "C"

import "github.com/gowsgi/wsgi/environ"

// The C side reads package environ's packed records and flags through its
// own copies of environ's constants (GW_LITERAL_KEY and the others in
// gowsgi.h). The declarations below fail to compile when the two drift
// apart: an index into a one-element array must be the constant 0, so a
// difference of either sign is a compile error, and a negative constant
// does not convert to uint.
var (
	_ = [1]struct{}{}[C.GW_LITERAL_KEY-environ.LiteralKey]
	_ = [1]struct{}{}[C.GW_INPUT_TERMINATED-environ.InputTerminated]
)

// Every key id indexes gw_keys, and none is the literal key.
const (
	_ = uint(C.GW_KEY_TABLE - len(environ.Keys))
	_ = uint(C.GW_LITERAL_KEY - len(environ.Keys))
)
