package response

import (
	"errors"
	"fmt"

	"github.com/gowsgi/wsgi/internal/httprule"
)

// maxQuote is the number of bytes of an offending value quoted in an error.
const maxQuote = 60

// clip shortens s for quoting in an error message.
func clip(s string) string {
	if len(s) <= maxQuote {
		return s
	}
	return s[:maxQuote] + "..."
}

// ParseStatus validates a WSGI status string and returns its code.
//
// A valid status is three ASCII digits forming a code from 200 to 599, a
// single space and a reason phrase, which may be empty ("200 " is valid).
// Each byte of the reason phrase must be HTAB, SP, visible ASCII
// (0x21–0x7E) or obs-text (0x80–0xFF); CR, LF, NUL, other control bytes
// and DEL are refused. status holds latin-1 bytes (see the package
// documentation).
//
// 1xx codes are refused because they are not a final status: net/http
// would send them as an informational response and carry on.
func ParseStatus(status string) (code int, err error) {
	if len(status) < 4 {
		return 0, fmt.Errorf("response: invalid status %q: want a three-digit code, a space and a reason phrase", clip(status))
	}
	for i := 0; i < 3; i++ {
		c := status[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("response: invalid status %q: does not start with a three-digit code", clip(status))
		}
		code = code*10 + int(c-'0')
	}
	if status[3] != ' ' {
		return 0, fmt.Errorf("response: invalid status %q: want a single space after the code", clip(status))
	}
	if code < 200 || code > 599 {
		if code >= 100 && code <= 199 {
			return 0, fmt.Errorf("response: invalid status %q: informational code %d cannot be a final status (want 200-599)", clip(status), code)
		}
		return 0, fmt.Errorf("response: invalid status %q: code %d out of range (want 200-599)", clip(status), code)
	}
	for i := 4; i < len(status); i++ {
		if !httprule.IsTextByte(status[i]) {
			return 0, fmt.Errorf("response: invalid status %q: reason phrase has forbidden byte %#02x at offset %d", clip(status), status[i], i)
		}
	}
	return code, nil
}

// CheckHeader validates one response header (name, value) as given to
// start_response.
//
// name must be a non-empty RFC 9110 token and not a hop-by-hop header (see
// [IsHopByHop]). Each byte of value must be HTAB, SP, visible ASCII
// (0x21–0x7E) or obs-text (0x80–0xFF); CR, LF, NUL, other control bytes and
// DEL are refused. Leading and trailing whitespace in value is allowed and
// kept. If name is Content-Length (in any case), value must be one or more
// ASCII digits that fit in an int64. name and value hold latin-1 bytes (see
// the package documentation).
//
// CheckHeader looks at one header only; [Writer.Start] also refuses a
// second Content-Length.
func CheckHeader(name, value string) error {
	if name == "" {
		return errors.New("response: empty header name")
	}
	for i := 0; i < len(name); i++ {
		if !httprule.IsTokenByte(name[i]) {
			return fmt.Errorf("response: invalid header name %q: byte %#02x at offset %d is not a token character", clip(name), name[i], i)
		}
	}
	if IsHopByHop(name) {
		return fmt.Errorf("response: header %q is hop-by-hop and may not be set by the application", clip(name))
	}
	for i := 0; i < len(value); i++ {
		if !httprule.IsTextByte(value[i]) {
			return fmt.Errorf("response: invalid value %q for header %q: forbidden byte %#02x at offset %d", clip(value), clip(name), value[i], i)
		}
	}
	if isContentLength(name) {
		if _, err := parseLength(value); err != nil {
			return err
		}
	}
	return nil
}

// IsHopByHop reports whether name (any case) is a hop-by-hop header an app
// may not set: Connection, Keep-Alive, Proxy-Authenticate,
// Proxy-Authorization, Proxy-Connection, TE, Trailer, Trailers,
// Transfer-Encoding or Upgrade.
func IsHopByHop(name string) bool {
	switch len(name) {
	case 2:
		return httprule.EqualFold(name, "TE")
	case 7:
		return httprule.EqualFold(name, "Trailer") || httprule.EqualFold(name, "Upgrade")
	case 8:
		return httprule.EqualFold(name, "Trailers")
	case 10:
		return httprule.EqualFold(name, "Connection") || httprule.EqualFold(name, "Keep-Alive")
	case 16:
		return httprule.EqualFold(name, "Proxy-Connection")
	case 17:
		return httprule.EqualFold(name, "Transfer-Encoding")
	case 18:
		return httprule.EqualFold(name, "Proxy-Authenticate")
	case 19:
		return httprule.EqualFold(name, "Proxy-Authorization")
	}
	return false
}

// isContentLength reports whether name is Content-Length in any case.
func isContentLength(name string) bool {
	return len(name) == len("Content-Length") && httprule.EqualFold(name, "Content-Length")
}

// parseLength parses a Content-Length value: one or more ASCII digits that
// fit in an int64 (see [httprule.ParseContentLength]).
func parseLength(value string) (int64, error) {
	n, err := httprule.ParseContentLength(value)
	if err != nil {
		return 0, fmt.Errorf("response: invalid Content-Length %q: %v", clip(value), err)
	}
	return n, nil
}
