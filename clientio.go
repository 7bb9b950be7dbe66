package wsgi

import (
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultIOTimeout is how long one read of a request body or one write of
// a response may wait on the client unless WithIOTimeout says otherwise.
const DefaultIOTimeout = 30 * time.Second

// WithIOTimeout bounds how long the App waits on a slow client, so that
// one never holds a Python thread for long: d is the longest one read of
// the request body or one write of the response may wait (a client that
// stops reading a streamed response, an upload that stalls). A body read
// before the app runs (up to WithMaxPreread) must arrive whole within d,
// and a body the app streams no later than the request's deadline
// (WithTimeout, or one on its context) either. A body that comes too
// slowly makes wsgi.input raise OSError, and is answered 408 if the app
// lets that escape before anything was sent; a write that times out ends
// the response like a client gone.
//
// The App sets these deadlines on the connection through
// [http.ResponseController], in place of the http.Server's ReadTimeout
// and WriteTimeout while it reads and writes; the write deadline is
// cleared when the request ends. 0 turns them off; the default is
// DefaultIOTimeout.
func WithIOTimeout(d time.Duration) Option {
	return func(o *options) { o.ioTimeout = d }
}

// A clientIO is the ResponseWriter and request body of one request with
// the WithIOTimeout deadlines applied. A deadline is moved forward only
// when less than half of the timeout is left of it, so a fast request
// sets each deadline once.
type clientIO struct {
	w       http.ResponseWriter
	rc      http.ResponseController
	d       time.Duration
	cap     time.Time    // no read deadline past this (the request's own), or zero
	wUntil  time.Time    // the write deadline in force, or zero
	rUntil  time.Time    // the read deadline in force, or zero
	rNanos  atomic.Int64 // rUntil for other goroutines (readExpired)
	sent    int64        // response bytes written so far
	body    bodyReader
	stopped bool // the read deadline is fixed (SetReadDeadline failed or is not supported)
}

var clientIOPool = sync.Pool{New: func() any { return new(clientIO) }}

// newClientIO wraps w for the timeout d, no deadline past the request's
// (zero: none). The caller calls done when the request ends.
func newClientIO(w http.ResponseWriter, d time.Duration, deadline time.Time) *clientIO {
	c := clientIOPool.Get().(*clientIO)
	c.w, c.rc, c.d, c.cap = w, *http.NewResponseController(w), d, deadline
	return c
}

// reader returns body with the clientIO's read deadlines, valid until done.
// The request's Body is left as it was: a Handler does not change its
// Request (a caller may serve it again), and c goes back to a pool.
func (c *clientIO) reader(body io.ReadCloser) io.Reader {
	c.body = bodyReader{rc: body, c: c}
	return &c.body
}

// done clears the write deadline, which net/http leaves in place for the
// next request on the connection, and puts c back in the pool.
func (c *clientIO) done() {
	if !c.wUntil.IsZero() {
		c.rc.SetWriteDeadline(time.Time{})
	}
	c.reset()
	clientIOPool.Put(c)
}

// reset drops everything of the last request (a clientIO holds an atomic,
// so it is not copied).
func (c *clientIO) reset() {
	c.w, c.rc, c.d = nil, http.ResponseController{}, 0
	c.cap, c.wUntil, c.rUntil = time.Time{}, time.Time{}, time.Time{}
	c.rNanos.Store(0)
	c.sent, c.body, c.stopped = 0, bodyReader{}, false
}

// readWhole sets one deadline, now plus the timeout, for all the reads up
// to the next readPart: the body read before the app runs.
func (c *clientIO) readWhole() {
	c.setRead(time.Now().Add(c.d))
	c.stopped = true
}

// readPart lets each later read wait up to the timeout.
func (c *clientIO) readPart() { c.stopped = false }

func (c *clientIO) beforeRead() {
	if c.stopped {
		return
	}
	now := time.Now()
	if c.rUntil.Sub(now) >= c.d/2 {
		return
	}
	until := now.Add(c.d)
	if !c.cap.IsZero() && until.After(c.cap) {
		until = c.cap
	}
	c.setRead(until)
}

func (c *clientIO) setRead(t time.Time) {
	if err := c.rc.SetReadDeadline(t); err != nil {
		c.stopped = true // not supported: nothing more to try
		return
	}
	c.rUntil = t
	c.rNanos.Store(t.UnixNano())
}

// readExpired reports whether the read deadline has passed. net/http
// cancels the request's context when a read fails, a timeout too; this
// tells such a cancellation from a client gone, for a relay that must
// still send the 408.
func (c *clientIO) readExpired() bool {
	n := c.rNanos.Load()
	return n != 0 && time.Now().UnixNano() >= n
}

func (c *clientIO) beforeWrite() {
	now := time.Now()
	if c.wUntil.Sub(now) >= c.d/2 {
		return
	}
	t := now.Add(c.d)
	if c.rc.SetWriteDeadline(t) == nil {
		c.wUntil = t
	} else {
		c.wUntil = now.Add(1 << 62) // not supported: do not ask again
	}
}

func (c *clientIO) Header() http.Header    { return c.w.Header() }
func (c *clientIO) WriteHeader(status int) { c.w.WriteHeader(status) }

// unblocked is how many bytes of a response go out without a write
// deadline: net/http buffers 4 KiB, and a socket's send buffer holds more
// than that (Linux's smallest is 4608 bytes), so no write or flush of a
// response this small can wait on the client. Most responses never pay
// for the deadline, nor for clearing it.
const unblocked = 4 << 10

func (c *clientIO) Write(p []byte) (int, error) {
	c.sent += int64(len(p))
	if c.sent > unblocked {
		c.beforeWrite()
	}
	return c.w.Write(p)
}

// FlushError is what [http.ResponseController.Flush] calls.
func (c *clientIO) FlushError() error {
	if c.sent > unblocked {
		c.beforeWrite()
	}
	return http.NewResponseController(c.w).Flush()
}

// Flush is http.Flusher's.
func (c *clientIO) Flush() { c.FlushError() }

// sendChunk is how much ReadFrom sends under one write deadline: a large
// file to a client at 1 MiB/s must not time out as long as it moves.
const sendChunk = 4 << 20

// ReadFrom keeps sendfile(2) for a file (what response.Writer.SendFile
// gives, an *io.LimitedReader around an *os.File), sending it in chunks
// with the write deadline moved on between them.
func (c *clientIO) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.w.(io.ReaderFrom)
	lr, isLimited := r.(*io.LimitedReader)
	if !ok || !isLimited {
		c.beforeWrite()
		if ok {
			return rf.ReadFrom(r)
		}
		return io.Copy(writerOnly{c.w}, r)
	}
	if _, isFile := lr.R.(*os.File); !isFile {
		c.beforeWrite()
		return rf.ReadFrom(r)
	}
	var total int64
	for lr.N > 0 {
		c.wUntil = time.Time{} // a new deadline for each chunk
		c.beforeWrite()
		part := &io.LimitedReader{R: lr.R, N: min(lr.N, sendChunk)}
		n, err := rf.ReadFrom(part)
		total += n
		lr.N -= n
		if err != nil {
			return total, err
		}
		if n == 0 {
			break // the file ended
		}
	}
	return total, nil
}

// Unwrap gives [http.ResponseController] the ResponseWriter underneath.
func (c *clientIO) Unwrap() http.ResponseWriter { return c.w }

// A bodyReader is a request body whose reads have the clientIO's read
// deadline.
type bodyReader struct {
	rc io.ReadCloser
	c  *clientIO
}

func (b *bodyReader) Read(p []byte) (int, error) {
	b.c.beforeRead()
	return b.rc.Read(p)
}

func (b *bodyReader) Close() error { return b.rc.Close() }
