// Package httprule holds the byte-level HTTP/1.1 rules that more than one
// gowsgi package applies: which bytes make an RFC 9110 token and a field
// value, what a Content-Length value is, and ASCII case folding. Package
// response checks an app's status and headers with them, package framing
// reads request heads with them and package environ turns header names
// into HTTP_* keys with them.
//
// The C start_response in package interp applies the same rules to
// Python strs (interp/start_response.c); the tests of both response and interp run
// the cases of internal/conformance, so the two cannot drift apart
// unnoticed.
//
// Every function takes bytes, not text: a string here holds latin-1
// bytes (as a WSGI app's native strings do) or raw bytes read from a
// client, and no Unicode rule applies.
package httprule

import (
	"errors"
	"strconv"
)

// IsTokenByte reports whether c is an RFC 9110 tchar (section 5.6.2), a
// byte of a header name or a method: ALPHA / DIGIT / "!" / "#" / "$" /
// "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~".
func IsTokenByte(c byte) bool {
	return tokenTable[c]
}

// tokenTable marks the bytes IsTokenByte accepts. It is built once and
// only read afterwards.
var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// IsTextByte reports whether c may appear in a header value or a reason
// phrase (RFC 9110 field-vchar and SP/HTAB, RFC 9112 reason-phrase): HTAB,
// SP, VCHAR (0x21–0x7E) or obs-text (0x80–0xFF). CR, LF, NUL, the other
// control bytes and DEL are not.
func IsTextByte(c byte) bool {
	return c == '\t' || (c >= ' ' && c != 0x7f)
}

// EqualFold reports whether s equals t ignoring ASCII case: only A–Z and
// a–z fold. Unlike strings.EqualFold it applies no Unicode folding, so
// "\u212Aeep-Alive" (KELVIN SIGN) is not "keep-alive".
func EqualFold[S ~string | ~[]byte](s S, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if lower(s[i]) != lower(t[i]) {
			return false
		}
	}
	return true
}

// lower returns c with A–Z mapped to a–z.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// The errors ParseContentLength returns.
var (
	// ErrNotDigits: the value is empty or has a byte other than 0–9
	// (a sign, a space, a second value after a comma).
	ErrNotDigits = errors.New("want one or more decimal digits")

	// ErrTooLarge: the value is digits only but more than an int64 holds.
	ErrTooLarge = errors.New("larger than " + strconv.FormatInt(maxLength, 10))
)

// maxLength is the largest Content-Length ParseContentLength accepts.
const maxLength = 1<<63 - 1

// ParseContentLength parses a Content-Length value as net/http does
// (strconv.ParseUint(v, 10, 63)): one or more ASCII digits, leading zeros
// allowed, whose value fits in an int64. Surrounding whitespace is the
// caller's to trim. Otherwise it returns ErrTooLarge once the digits so
// far pass the int64 range, else ErrNotDigits.
func ParseContentLength[S ~string | ~[]byte](v S) (int64, error) {
	if len(v) == 0 {
		return 0, ErrNotDigits
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, ErrNotDigits
		}
		d := int64(c - '0')
		if n > (maxLength-d)/10 {
			return 0, ErrTooLarge
		}
		n = n*10 + d
	}
	return n, nil
}
