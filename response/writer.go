package response

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"time"
)

// ErrShortBody is returned by [Writer.Finish] when the application declared
// a Content-Length and sent fewer bytes. The client is still waiting for
// the rest, so the caller must abort the connection, for example by
// panicking with [http.ErrAbortHandler].
var ErrShortBody = errors.New("response: body shorter than its Content-Length")

// ErrClientGone wraps errors from writing or flushing to the client. An
// error wrapping ErrClientGone also wraps the ResponseWriter's own error.
// Once a write has failed, the Writer returns the same error from every
// later call without touching the ResponseWriter.
var ErrClientGone = errors.New("response: client gone")

// ErrNotStarted is returned by the Writer's methods that send the response
// when [Writer.Start] has not succeeded yet.
var ErrNotStarted = errors.New("response: body or flush before a successful Start")

// ErrHeaderSent is returned by [Writer.Start] once the header has been
// sent to the client and can no longer be replaced.
var ErrHeaderSent = errors.New("response: Start after the header was sent")

// errDupLength is returned by [Writer.Start] for a second Content-Length.
var errDupLength = errors.New("response: more than one Content-Length header")

// maxKeptHeaders bounds the capacity of the header slice a Writer keeps
// across Reset, so one request with very many headers does not pin memory
// in a pool.
const maxKeptHeaders = 64

// error500Body is the body of the response written by [Writer.Error500].
const error500Body = "Internal Server Error\n"

// Header is one response header as the app gave it.
type Header struct{ Name, Value string }

// Writer writes one WSGI response to an [http.ResponseWriter].
//
// The zero value is not usable: call [Writer.Reset] first. Writers are
// meant to be pooled and reused; Reset clears all state of the previous
// response. A Writer is not safe for concurrent use.
//
// A response goes: Start (the app's start_response; may be repeated until
// the header is sent), optionally SetLength, any number of Write, Flush
// and SendFile calls, then Finish. The header is sent to the client by the
// first of those that needs it. If the app fails before the header is
// sent, Error500 writes a generic error response instead.
type Writer struct {
	w    http.ResponseWriter
	head bool // the request is HEAD: no body bytes are written

	started bool
	sent    bool
	code    int
	headers []Header // as given to Start, not yet applied to w.Header()
	appLen  int64    // Content-Length from the app's headers, or -1
	bodyLen int64    // length set by SetLength, or -1

	limit  int64 // declared length in force once sent, or -1
	noBody bool  // once sent: HEAD, 204 or 304, so nothing is written
	count  int64 // body bytes taken from the app, including dropped ones
	err    error // sticky client error
}

var _ io.Writer = (*Writer)(nil)

// Reset prepares rw to write the response to r on w, dropping all state of
// a previous response. Only r's method is used; a nil r is taken as GET.
// Reset(nil, nil) drops all references, for putting rw back in a pool.
func (rw *Writer) Reset(w http.ResponseWriter, r *http.Request) {
	clear(rw.headers)
	headers := rw.headers[:0]
	if cap(headers) > maxKeptHeaders {
		headers = nil
	}
	*rw = Writer{
		w:       w,
		head:    r != nil && r.Method == http.MethodHead,
		headers: headers,
		appLen:  -1,
		bodyLen: -1,
		limit:   -1,
	}
}

// Start validates status and headers and stores them; nothing is written
// yet. status must pass [ParseStatus] and each header [CheckHeader]; at
// most one header may be Content-Length (in any case).
//
// On error nothing changes. Start may be called again until the header is
// sent (start_response with exc_info): the new status and headers replace
// the old ones. Once the header is sent Start returns [ErrHeaderSent].
// headers is copied; the caller may reuse it.
func (rw *Writer) Start(status string, headers []Header) error {
	if rw.sent {
		return ErrHeaderSent
	}
	code, err := ParseStatus(status)
	if err != nil {
		return err
	}
	appLen := int64(-1)
	for _, h := range headers {
		if err := CheckHeader(h.Name, h.Value); err != nil {
			return err
		}
		if isContentLength(h.Name) {
			if appLen >= 0 {
				return errDupLength
			}
			// CheckHeader has validated the value.
			appLen, _ = parseLength(h.Value)
		}
	}
	rw.code = code
	clear(rw.headers)
	rw.headers = append(rw.headers[:0], headers...)
	rw.appLen = appLen
	rw.started = true
	return nil
}

// Sent reports whether the header has been sent to the client (handed to
// the ResponseWriter's WriteHeader).
func (rw *Writer) Sent() bool { return rw.sent }

// SetLength declares the body length n when the server knows the whole
// body (a list body) and the app set no Content-Length; the header then
// carries Content-Length n, which also lets net/http use sendfile(2) in
// SendFile. It has no effect if the app set a Content-Length, for 204 and
// 304 responses, for negative n or once the header is sent.
//
// If the app set a Content-Length larger than n, SetLength returns an
// error wrapping [ErrShortBody], before anything is sent: the response
// could only end in a cut connection, and the caller can answer 500
// instead. A HEAD response is exempt (its body is never sent).
func (rw *Writer) SetLength(n int64) error {
	if rw.sent || n < 0 {
		return nil
	}
	if rw.appLen > n && !rw.head && rw.code != http.StatusNoContent && rw.code != http.StatusNotModified {
		return fmt.Errorf("%w: the body is %d bytes, its Content-Length %d", ErrShortBody, n, rw.appLen)
	}
	rw.bodyLen = n
	return nil
}

// sendHeader applies the stored status and headers to rw.w and calls its
// WriteHeader. The app's headers are added under their canonical names,
// as [http.Header.Add] does.
func (rw *Writer) sendHeader() {
	h := rw.w.Header()
	limit := rw.appLen
	noBody := rw.head || rw.code == http.StatusNoContent || rw.code == http.StatusNotModified
	setLen := limit < 0 && rw.bodyLen >= 0 && rw.code != http.StatusNoContent && rw.code != http.StatusNotModified
	if setLen {
		limit = rw.bodyLen
	}
	n := len(rw.headers)
	if setLen {
		n++
	}
	// One backing array for all values: one allocation instead of one per
	// header. Full slice expressions make a later append (a repeated
	// header) copy instead of overwriting the next value.
	vals := make([]string, n)
	for i, hd := range rw.headers {
		key := textproto.CanonicalMIMEHeaderKey(hd.Name)
		vals[i] = hd.Value
		if old, ok := h[key]; ok {
			h[key] = append(old, hd.Value)
		} else {
			h[key] = vals[i : i+1 : i+1]
		}
	}
	if setLen {
		vals[n-1] = strconv.FormatInt(limit, 10)
		h["Content-Length"] = vals[n-1 : n : n]
	}
	if _, ok := h["Content-Type"]; !ok {
		// Present but empty: net/http sends no Content-Type and does not
		// sniff one.
		h["Content-Type"] = nil
	}
	if noBody {
		limit = -1 // Finish does not compare
	}
	rw.limit = limit
	rw.noBody = noBody
	rw.sent = true
	rw.w.WriteHeader(rw.code)
}

// clientError records err from the ResponseWriter as the Writer's sticky
// error and returns it.
func (rw *Writer) clientError(err error) error {
	rw.err = fmt.Errorf("%w: %w", ErrClientGone, err)
	return rw.err
}

// ready sends the header if needed, or reports why the body cannot be
// written.
func (rw *Writer) ready() error {
	switch {
	case rw.err != nil:
		return rw.err
	case rw.sent:
		return nil
	case !rw.started:
		return ErrNotStarted
	}
	rw.sendHeader()
	return nil
}

// Write sends the header on first use, then p. An empty p is a no-op and
// does not send the header (PEP 3333: headers go out with the first
// non-empty block).
//
// Bytes beyond a declared Content-Length are dropped: Write reports them
// written and returns no error, as the app may not be told. For HEAD, 204
// and 304 nothing of the body is written but the bytes are still counted.
//
// An error from the ResponseWriter is returned wrapped with
// [ErrClientGone], and later calls return it at once.
func (rw *Writer) Write(p []byte) (int, error) {
	if len(p) == 0 {
		switch {
		case rw.err != nil:
			return 0, rw.err
		case !rw.started && !rw.sent:
			return 0, ErrNotStarted
		}
		return 0, nil
	}
	if err := rw.ready(); err != nil {
		return 0, err
	}
	n := len(p)
	if rw.noBody {
		rw.count += int64(n)
		return n, nil
	}
	if rw.limit >= 0 {
		rem := rw.limit - rw.count
		if rem <= 0 {
			rw.count += int64(n)
			return n, nil
		}
		if int64(n) > rem {
			p = p[:rem]
		}
	}
	m, err := rw.w.Write(p)
	rw.count += int64(m)
	if err != nil {
		return m, rw.clientError(err)
	}
	if m < len(p) {
		return m, rw.clientError(io.ErrShortWrite)
	}
	rw.count += int64(n - m) // the dropped tail
	return n, nil
}

// Flush sends the header if not yet sent and flushes buffered bytes to the
// client through [http.ResponseController]. A ResponseWriter that cannot
// flush is not an error. A flush error is returned wrapped with
// [ErrClientGone], and later calls return it at once.
func (rw *Writer) Flush() error {
	if err := rw.ready(); err != nil {
		return err
	}
	if err := http.NewResponseController(rw.w).Flush(); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			return nil
		}
		return rw.clientError(err)
	}
	return nil
}

// Abandon makes a write or flush that waits on the client fail now, and
// those after it, by setting the connection's write deadline to the past
// through [http.ResponseController]: for a response that can no longer
// complete (its app was interrupted) and must not hold the request while
// a slow client takes what was queued for it. Unlike the other methods it
// may be called from another goroutine than the one writing; it touches
// only the connection. It reports whether the ResponseWriter supports it.
func (rw *Writer) Abandon() bool {
	return http.NewResponseController(rw.w).SetWriteDeadline(time.Now()) == nil
}

// SendFile sends the header if not yet sent, then copies from f, starting
// at its current offset, up to the rest of the declared length or to EOF
// if no length is declared. It copies with [io.Copy] from an
// [io.LimitedReader] around f into the ResponseWriter, so net/http can use
// sendfile(2); it does so only when the length is declared (see
// [Writer.SetLength]), as a chunked body is copied through a buffer.
//
// For HEAD, 204 and 304 nothing is read or written; the count returned is
// what would have been sent (from f's size and offset, for a regular
// file).
//
// An error writing to the client is returned wrapped with [ErrClientGone];
// an error reading f is returned as is (an [*os.PathError]). Either way the
// response is broken and later calls return the same error.
func (rw *Writer) SendFile(f *os.File) (int64, error) {
	if err := rw.ready(); err != nil {
		return 0, err
	}
	rest := int64(math.MaxInt64)
	if rw.limit >= 0 {
		rest = rw.limit - rw.count
		if rest <= 0 {
			return 0, nil
		}
	}
	if rw.noBody {
		n := fileRest(f, rest)
		rw.count += n
		return n, nil
	}
	n, err := io.Copy(rw.w, &io.LimitedReader{R: f, N: rest})
	rw.count += n
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Path == f.Name() {
			rw.err = fmt.Errorf("response: reading file for body: %w", err)
			return n, rw.err
		}
		return n, rw.clientError(err)
	}
	return n, nil
}

// fileRest reports how many bytes a copy from f, limited to limit, would
// take, without reading f. It is 0 if f is not a regular file.
func fileRest(f *os.File, limit int64) int64 {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0
	}
	return min(max(fi.Size()-off, 0), limit)
}

// Finish ends the response. It sends the header if nothing was sent (an
// empty body) and returns [ErrShortBody] when fewer bytes than a declared
// Content-Length were written (never for HEAD, 204 or 304). After a write
// error it returns that error.
func (rw *Writer) Finish() error {
	if err := rw.ready(); err != nil {
		return err
	}
	if rw.limit >= 0 && rw.count < rw.limit {
		return ErrShortBody
	}
	return nil
}

// Error500 writes a generic "500 Internal Server Error" text/plain response
// if nothing was sent yet, whatever the app gave to Start; it never shows
// the app's error. It reports false, writing nothing, if the header already
// went out; the caller should then abort the connection.
func (rw *Writer) Error500() bool { return rw.Error(http.StatusInternalServerError) }

// Error is [Writer.Error500] for another status: it writes a text/plain
// response with the status text of code as its body, if nothing was sent
// yet, and reports false, writing nothing, if the header already went out.
func (rw *Writer) Error(code int) bool {
	if rw.sent {
		return false
	}
	body := http.StatusText(code) + "\n"
	if code == http.StatusInternalServerError {
		body = error500Body
	}
	h := rw.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	rw.sent = true
	rw.code = code
	rw.limit = -1
	rw.noBody = true // nothing more from the app
	rw.w.WriteHeader(code)
	if !rw.head {
		if _, err := io.WriteString(rw.w, body); err != nil {
			rw.clientError(err)
		}
	}
	return true
}
