// Package response holds the rules for what a WSGI application may send
// and writes a WSGI response to an [http.ResponseWriter].
//
// # Rules
//
// [ParseStatus], [CheckHeader] and [IsHopByHop] are the reference
// implementation of the checks that start_response applies to the status
// and headers an application gives it (PEP 3333). The C start_response in
// package interp mirrors them exactly and raises to the application on bad
// input; both implementations are tested against one conformance table
// (in internal/conformance). The same checks run again in Go, in
// [Writer.Start], before anything reaches the wire.
//
// In brief:
//
//   - A status is three ASCII digits forming a code from 200 to 599, one
//     space, and a reason phrase that may be empty. Each byte of the reason
//     phrase is HTAB, SP, visible ASCII (0x21–0x7E) or obs-text (0x80–0xFF).
//     1xx codes are refused: net/http would send them as an informational
//     response and carry on, so they cannot be a final status.
//   - A header name is a non-empty RFC 9110 token.
//   - A header value is any run of HTAB, SP, visible ASCII and obs-text
//     bytes (possibly empty). CR, LF, NUL, other control bytes and DEL are
//     refused; surrounding whitespace is allowed and kept as given.
//   - Hop-by-hop headers (Connection, Keep-Alive, Proxy-Authenticate,
//     Proxy-Authorization, Proxy-Connection, TE, Trailer, Trailers,
//     Transfer-Encoding, Upgrade) belong to the server and are refused in
//     any letter case.
//   - A Content-Length value is one or more ASCII digits and fits in an
//     int64; [Writer.Start] also refuses more than one Content-Length.
//
// # Latin-1
//
// WSGI statuses and headers are native strings holding latin-1 text
// ("bytes as str"). The functions in this package take those strings as Go
// strings of latin-1 bytes: byte b stands for code point U+00bb, so a Go
// string is never UTF-8 decoded here and "200 caf\xe9" is the status
// "200 café". A Python str with a code point above U+00FF cannot be encoded
// as latin-1 and must be refused by the caller before it reaches this
// package.
//
// # Writer
//
// A [Writer] turns one WSGI response into calls on an
// [http.ResponseWriter] without letting net/http change what the
// application said: it never lets net/http sniff a Content-Type the
// application did not set, keeps the application's Content-Length for HEAD
// while sending no body, writes no body for 204 and 304, truncates a body
// that runs past its declared Content-Length and reports one that falls
// short ([ErrShortBody]) so the caller can abort the connection instead of
// leaving the client waiting for bytes that never come.
//
// net/http writes its own reason phrase (from [http.StatusText]) on the
// status line, so an application's reason phrase is checked but does not
// reach an HTTP/1.x client.
package response
