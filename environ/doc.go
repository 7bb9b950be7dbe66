// Package environ maps an [net/http.Request] onto the CGI variables of a
// WSGI environ (PEP 3333) and packs them into one flat byte buffer, so that
// the C side can build the Python dict in a single call.
//
// The package owns the rules of that mapping and nothing else: which keys
// exist, how the request target becomes SCRIPT_NAME and PATH_INFO (percent
// decoded once, as bytes), how headers become HTTP_* keys (underscored names
// dropped, repeated headers folded), and where SERVER_* and REMOTE_* come
// from. It is pure Go so that the rules can be table-tested and fuzzed
// without Python. Keys that are the same on every request (wsgi.version,
// wsgi.errors, SERVER_SOFTWARE, ...) and the request body are not its
// business; they belong to the interpreter glue.
//
// # Record format
//
// A packed buffer is a sequence of records, back to back, with no header
// and no terminator. Each record is:
//
//	id     1 byte: an index into [Keys], or [LiteralKey]
//	[if id == LiteralKey]
//	klen   uint32, little endian
//	key    klen bytes, ASCII
//	vlen   uint32, little endian
//	value  vlen bytes, raw; the C side decodes them as latin-1
//
// The C decoder interns every string of [Keys] once at start-up, so the
// common keys cost one byte each on the wire. [Decode] is the Go reference
// decoder, used by tests and fuzzing.
//
// The C decoder has its own copies of [LiteralKey], of the most key ids its
// table holds and of [InputTerminated] (interp/gowsgi.h); package interp
// fails to compile when they and these drift apart.
package environ
