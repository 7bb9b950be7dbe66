// Package conformance holds the conformance table for the status and
// header rules of start_response (PEP 3333), which two implementations
// must apply alike: package response's ParseStatus and CheckHeader, the Go
// reference, and the C start_response in package interp, which raises to
// the app. Both packages' tests run every case; neither implementation
// imports the table.
package conformance

// Case is one entry of the conformance table [Cases].
type Case struct {
	// Kind is "status" for a status line (Status is set) or "header" for
	// one header (Name and Value are set).
	Kind string

	// Status is the status string given to start_response (Kind "status").
	Status string

	// Name and Value are one header given to start_response (Kind "header").
	Name, Value string

	// Valid reports whether the status or header must be accepted.
	Valid bool
}

// Cases is the shared conformance table for the status and header rules:
// response.ParseStatus (Kind "status") and response.CheckHeader (Kind
// "header") must accept exactly the cases marked Valid, and the C
// start_response must raise for exactly the others.
//
// Every string is latin-1 bytes: byte b stands for code point U+00bb, so
// the C side's test builds each Python str with PyUnicode_DecodeLatin1 (for
// example "200 caf\xe9" is the str '200 café'). Strs that cannot be encoded
// as latin-1 at all are not expressible here and are tested by interp
// itself.
//
// Callers must not modify Cases.
var Cases = []Case{
	// Valid statuses.
	{Kind: "status", Status: "200 OK", Valid: true},
	{Kind: "status", Status: "200 ", Valid: true},
	{Kind: "status", Status: "201 Created", Valid: true},
	{Kind: "status", Status: "204 No Content", Valid: true},
	{Kind: "status", Status: "206 Partial Content", Valid: true},
	{Kind: "status", Status: "299 x", Valid: true},
	{Kind: "status", Status: "301 Moved Permanently", Valid: true},
	{Kind: "status", Status: "304 Not Modified", Valid: true},
	{Kind: "status", Status: "404 Not Found", Valid: true},
	{Kind: "status", Status: "418 I'm a teapot", Valid: true},
	{Kind: "status", Status: "500 Internal Server Error", Valid: true},
	{Kind: "status", Status: "599 x", Valid: true},
	{Kind: "status", Status: "200 caf\xe9", Valid: true},
	{Kind: "status", Status: "200 \x80\xff", Valid: true},
	{Kind: "status", Status: "200 O\tK", Valid: true},
	{Kind: "status", Status: "200 OK\t", Valid: true},
	{Kind: "status", Status: "200  OK", Valid: true},
	{Kind: "status", Status: "200 OK ", Valid: true},
	{Kind: "status", Status: "200 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", Valid: true},
	{Kind: "status", Status: "200 " + Long, Valid: true},

	// Invalid statuses: shape.
	{Kind: "status", Status: ""},
	{Kind: "status", Status: "2"},
	{Kind: "status", Status: "200"},
	{Kind: "status", Status: "20 OK"},
	{Kind: "status", Status: "2000 OK"},
	{Kind: "status", Status: "200OK"},
	{Kind: "status", Status: "200-OK"},
	{Kind: "status", Status: "200\tOK"},
	{Kind: "status", Status: "200\xa0OK"},
	{Kind: "status", Status: " 200 OK"},
	{Kind: "status", Status: "abc OK"},
	{Kind: "status", Status: "2a0 OK"},
	{Kind: "status", Status: "+20 OK"},
	{Kind: "status", Status: "-20 OK"},
	{Kind: "status", Status: "2.0 OK"},
	{Kind: "status", Status: "OK 200"},
	{Kind: "status", Status: "\x00200 OK"},

	// Invalid statuses: code out of range.
	{Kind: "status", Status: "000 x"},
	{Kind: "status", Status: "099 x"},
	{Kind: "status", Status: "100 Continue"},
	{Kind: "status", Status: "101 Switching Protocols"},
	{Kind: "status", Status: "103 Early Hints"},
	{Kind: "status", Status: "199 x"},
	{Kind: "status", Status: "600 x"},
	{Kind: "status", Status: "999 x"},

	// Invalid statuses: forbidden bytes in the reason phrase.
	{Kind: "status", Status: "200 OK\r\n"},
	{Kind: "status", Status: "200 OK\r"},
	{Kind: "status", Status: "200 OK\n"},
	{Kind: "status", Status: "200 O\nK"},
	{Kind: "status", Status: "200 OK\r\nSet-Cookie: a=b"},
	{Kind: "status", Status: "200\r\n"},
	{Kind: "status", Status: "200 OK\x00"},
	{Kind: "status", Status: "200 \x00"},
	{Kind: "status", Status: "200 OK\x01"},
	{Kind: "status", Status: "200 OK\x0b"},
	{Kind: "status", Status: "200 OK\x0c"},
	{Kind: "status", Status: "200 \x1b[31mOK"},
	{Kind: "status", Status: "200 OK\x1f"},
	{Kind: "status", Status: "200 OK\x7f"},
	{Kind: "status", Status: "200 " + Long + "\n"},

	// Valid header names.
	{Kind: "header", Name: "Content-Type", Value: "text/plain; charset=utf-8", Valid: true},
	{Kind: "header", Name: "content-type", Value: "text/html", Valid: true},
	{Kind: "header", Name: "X-Y", Value: "1", Valid: true},
	{Kind: "header", Name: "X_Y", Value: "1", Valid: true},
	{Kind: "header", Name: "x", Value: "1", Valid: true},
	{Kind: "header", Name: "0", Value: "1", Valid: true},
	{Kind: "header", Name: "SET-COOKIE", Value: "a=b; Path=/; HttpOnly", Valid: true},
	{Kind: "header", Name: "WWW-Authenticate", Value: `Basic realm="x"`, Valid: true},
	{Kind: "header", Name: "!#$%&'*+-.^_`|~09AZaz", Value: "1", Valid: true},
	{Kind: "header", Name: "X-" + Long, Value: "1", Valid: true},

	// Invalid header names.
	{Kind: "header", Name: "", Value: "1"},
	{Kind: "header", Name: " ", Value: "1"},
	{Kind: "header", Name: "X Y", Value: "1"},
	{Kind: "header", Name: " X-Y", Value: "1"},
	{Kind: "header", Name: "X-Y ", Value: "1"},
	{Kind: "header", Name: "X\tY", Value: "1"},
	{Kind: "header", Name: "X:Y", Value: "1"},
	{Kind: "header", Name: "X-Y:", Value: "1"},
	{Kind: "header", Name: ":status", Value: "200"},
	{Kind: "header", Name: "Trailer:X", Value: "1"},
	{Kind: "header", Name: "X\rY", Value: "1"},
	{Kind: "header", Name: "X\nY", Value: "1"},
	{Kind: "header", Name: "X-Y\r\nX-Injected", Value: "1"},
	{Kind: "header", Name: "X\x00Y", Value: "1"},
	{Kind: "header", Name: "X\x7fY", Value: "1"},
	{Kind: "header", Name: "X\x01Y", Value: "1"},
	{Kind: "header", Name: "caf\xe9", Value: "1"},
	{Kind: "header", Name: "\xff", Value: "1"},
	{Kind: "header", Name: "(x)", Value: "1"},
	{Kind: "header", Name: "x/y", Value: "1"},
	{Kind: "header", Name: "x@y", Value: "1"},
	{Kind: "header", Name: `x"y`, Value: "1"},
	{Kind: "header", Name: "x,y", Value: "1"},
	{Kind: "header", Name: "x;y", Value: "1"},
	{Kind: "header", Name: "x=y", Value: "1"},
	{Kind: "header", Name: "x?y", Value: "1"},
	{Kind: "header", Name: "x[y]", Value: "1"},
	{Kind: "header", Name: "x{y}", Value: "1"},
	{Kind: "header", Name: `x\y`, Value: "1"},
	{Kind: "header", Name: "x<y>", Value: "1"},

	// Valid header values.
	{Kind: "header", Name: "X-Y", Value: "", Valid: true},
	{Kind: "header", Name: "X-Y", Value: " ", Valid: true},
	{Kind: "header", Name: "X-Y", Value: "a\tb", Valid: true},
	{Kind: "header", Name: "X-Y", Value: "\t", Valid: true},
	{Kind: "header", Name: "X-Y", Value: " leading space", Valid: true},
	{Kind: "header", Name: "X-Y", Value: "trailing space ", Valid: true},
	{Kind: "header", Name: "X-Y", Value: "\ttabs\t", Valid: true},
	{Kind: "header", Name: "X-Y", Value: "\xe9", Valid: true},
	{Kind: "header", Name: "X-Y", Value: "caf\xe9 \x80\xff", Valid: true},
	{Kind: "header", Name: "X-Y", Value: "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", Valid: true},
	{Kind: "header", Name: "X-Y", Value: Long, Valid: true},

	// Invalid header values.
	{Kind: "header", Name: "X-Y", Value: "a\rb"},
	{Kind: "header", Name: "X-Y", Value: "a\nb"},
	{Kind: "header", Name: "X-Y", Value: "a\r\nX-Injected: 1"},
	{Kind: "header", Name: "X-Y", Value: "a\r\n b"},
	{Kind: "header", Name: "X-Y", Value: "\r"},
	{Kind: "header", Name: "X-Y", Value: "\n"},
	{Kind: "header", Name: "X-Y", Value: "\x00"},
	{Kind: "header", Name: "X-Y", Value: "a\x00"},
	{Kind: "header", Name: "X-Y", Value: "\x01"},
	{Kind: "header", Name: "X-Y", Value: "\x0b"},
	{Kind: "header", Name: "X-Y", Value: "\x0c"},
	{Kind: "header", Name: "X-Y", Value: "\x1b"},
	{Kind: "header", Name: "X-Y", Value: "\x1f"},
	{Kind: "header", Name: "X-Y", Value: "\x7f"},
	{Kind: "header", Name: "X-Y", Value: "a\x7f"},
	{Kind: "header", Name: "X-Y", Value: Long + "\r\n"},

	// Hop-by-hop headers, in any case.
	{Kind: "header", Name: "Connection", Value: "close"},
	{Kind: "header", Name: "connection", Value: "keep-alive"},
	{Kind: "header", Name: "CONNECTION", Value: "close"},
	{Kind: "header", Name: "Keep-Alive", Value: "timeout=5"},
	{Kind: "header", Name: "kEEP-aLIVE", Value: "timeout=5"},
	{Kind: "header", Name: "Proxy-Authenticate", Value: "Basic"},
	{Kind: "header", Name: "proxy-AUTHENTICATE", Value: "Basic"},
	{Kind: "header", Name: "Proxy-Authorization", Value: "Basic eA=="},
	{Kind: "header", Name: "PROXY-authorization", Value: "Basic eA=="},
	{Kind: "header", Name: "Proxy-Connection", Value: "close"},
	{Kind: "header", Name: "pRoXy-CoNnEcTiOn", Value: "close"},
	{Kind: "header", Name: "TE", Value: "trailers"},
	{Kind: "header", Name: "te", Value: "trailers"},
	{Kind: "header", Name: "Te", Value: "trailers"},
	{Kind: "header", Name: "Trailer", Value: "X-Y"},
	{Kind: "header", Name: "tRAILER", Value: "X-Y"},
	{Kind: "header", Name: "Trailers", Value: "X-Y"},
	{Kind: "header", Name: "TRAILERS", Value: "X-Y"},
	{Kind: "header", Name: "Transfer-Encoding", Value: "chunked"},
	{Kind: "header", Name: "transfer-encoding", Value: "identity"},
	{Kind: "header", Name: "Upgrade", Value: "websocket"},
	{Kind: "header", Name: "uPgRaDe", Value: "h2c"},

	// Near misses of hop-by-hop names are ordinary headers.
	{Kind: "header", Name: "Connections", Value: "1", Valid: true},
	{Kind: "header", Name: "X-Connection", Value: "1", Valid: true},
	{Kind: "header", Name: "Keep-Alive2", Value: "1", Valid: true},
	{Kind: "header", Name: "Keep_Alive", Value: "1", Valid: true},
	{Kind: "header", Name: "T", Value: "1", Valid: true},
	{Kind: "header", Name: "TEE", Value: "1", Valid: true},
	{Kind: "header", Name: "Trailer-X", Value: "1", Valid: true},
	{Kind: "header", Name: "Upgrade-Insecure-Requests", Value: "1", Valid: true},
	{Kind: "header", Name: "Proxy-Status", Value: "x", Valid: true},
	{Kind: "header", Name: "Content-Encoding", Value: "gzip", Valid: true},

	// Content-Length: one or more ASCII digits that fit in an int64.
	{Kind: "header", Name: "Content-Length", Value: "0", Valid: true},
	{Kind: "header", Name: "Content-Length", Value: "5", Valid: true},
	{Kind: "header", Name: "content-length", Value: "13", Valid: true},
	{Kind: "header", Name: "CONTENT-LENGTH", Value: "1024", Valid: true},
	{Kind: "header", Name: "Content-Length", Value: "007", Valid: true},
	{Kind: "header", Name: "Content-Length", Value: "9223372036854775807", Valid: true},
	{Kind: "header", Name: "Content-Length", Value: ""},
	{Kind: "header", Name: "Content-Length", Value: " "},
	{Kind: "header", Name: "Content-Length", Value: " 5"},
	{Kind: "header", Name: "Content-Length", Value: "5 "},
	{Kind: "header", Name: "Content-Length", Value: "5\t"},
	{Kind: "header", Name: "Content-Length", Value: "+5"},
	{Kind: "header", Name: "Content-Length", Value: "-1"},
	{Kind: "header", Name: "Content-Length", Value: "5.0"},
	{Kind: "header", Name: "Content-Length", Value: "1e3"},
	{Kind: "header", Name: "Content-Length", Value: "0x10"},
	{Kind: "header", Name: "Content-Length", Value: "5,5"},
	{Kind: "header", Name: "Content-Length", Value: "5, 5"},
	{Kind: "header", Name: "Content-Length", Value: "five"},
	{Kind: "header", Name: "Content-Length", Value: "\xb2"},
	{Kind: "header", Name: "Content-Length", Value: "9223372036854775808"},
	{Kind: "header", Name: "Content-Length", Value: "18446744073709551616"},
	{Kind: "header", Name: "Content-Length", Value: "99999999999999999999999999"},
	{Kind: "header", Name: "Content-Length", Value: "5\r\n"},
	{Kind: "header", Name: "Content_Length", Value: "five", Valid: true},
}

// Long is a 100-byte string of visible ASCII, longer than an error
// message quotes.
const Long = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzAB"
