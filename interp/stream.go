package interp

import (
	"context"
	"fmt"
	"sync"

	"github.com/gowsgi/wsgi/response"
)

// A response of many blocks is transmitted while the app produces it.
//
// The first block goes out with the headers in the callback that received
// it, as it always did: the common response of one block (Flask, Django)
// pays for no hand-off. From the second block on, gowsgiBlock copies the
// block into the request's stream, a queue in Go memory, and returns at
// once, so C asks the app for the next block while a writer goroutine
// sends the queue to the client. PEP 3333 allows it: the server "must
// either fully transmit all the data to the client, or guarantee that it
// will continue transmission even while the application is producing its
// next block". A block is never held back: an idle writer is woken for
// it at once. Blocks that queued while the writer was busy with a slow
// client go out together, in writes of up to writePiece (one chunk each on
// HTTP/1.1) instead of one write and one chunk a block, and the writer
// flushes whenever it has emptied the queue.
//
// Ownership: a block is Python's memory (the bytes object lent as
// gw_result.ext, kept alive by the C side until it asks the app for the
// next block) or the Call's out buffer (overwritten then); either way it is
// valid only until the callback returns, and the callback copies it. The
// queue's buffers are Go memory owned by the stream: by the producer (the
// request's goroutine, in its callbacks) while it appends under s.mu, by
// the writer while it writes the batch it took. No Python object and no C
// memory outlives the callback, and nothing here needs the GIL.
//
// A stream holds at most StreamQueue bytes not yet handed to the
// ResponseWriter. A block that does not fit waits in the callback for the
// writer to make room: without the GIL, and out of the gate (later blocks
// leave it before they are sent), so the app's thread waits for its client
// as it did when it wrote each block itself. A block larger than the whole
// queue is not copied: the callback writes it itself, once the writer has
// written and flushed everything before it.
//
// While the writer runs, it alone uses the response.Writer: the callbacks
// that write directly (a write() from the app, a block too big for the
// queue) first wait for it to be idle (drain), and Run stops the writer
// before it returns, so the response is complete, written and flushed,
// when Run returns. An error of the writer (the client gone) fails the
// next block, which stops the iteration and calls close(); a panic in it
// is caught there and raised again by Run, as for a callback.

// StreamQueue bounds the bytes a streamed response may have produced and
// not yet handed to the client's connection. Its two buffers (the one
// filling, the one being written) hold at most twice that.
//
// A larger queue lets an app produce more of its response before it waits
// for its client: 1 MiB, which holds the whole 1 MB stream workload, did
// 1.1–1.2× the requests a second of 256 KiB, but with a p99 latency of
// 450–820 ms against 58–207 ms (wrk -c64, 32 threads; see bench/NOTES.md):
// producers that never wait take and give back the GIL at every block, and
// requests that wait for it starve.
const StreamQueue = 256 << 10

// writePiece is the most the writer hands the ResponseWriter at once (a
// chunk, on HTTP/1.1): each piece written makes room in the queue. A
// producer waiting for room is woken only once the queue is down to a
// quarter, so it waits at most once per three quarters of the queue:
// waking a goroutine parked in a callback (locked to its thread) takes
// tens of microseconds here.
const writePiece = 64 << 10

// StreamState is a snapshot of the responses being streamed, for logs,
// metrics and tests.
type StreamState struct {
	Streams int   // responses whose writer transmits beside the app
	Queued  int64 // bytes produced and not yet handed to the ResponseWriter, all streams
	Blocked int   // streams whose app waits for its writer: the queue is full
}

// Streams reports the responses being streamed.
func Streams() StreamState {
	streams.mu.Lock()
	defer streams.mu.Unlock()
	st := StreamState{Streams: len(streams.all)}
	for s := range streams.all {
		s.mu.Lock()
		st.Queued += int64(s.held)
		if s.waiting {
			st.Blocked++
		}
		s.mu.Unlock()
	}
	return st
}

// streams is the set of running streams, for Streams. A stream's counts
// are its own, under its own lock: a counter shared by all streams, updated
// for every block, cost the stream benchmark 9% of its CPU time in one
// atomic add.
var streams struct {
	mu  sync.Mutex
	all map[*stream]struct{}
}

// streamPool keeps streams, and their buffers, between responses: only
// responses being streamed hold one, and the GC may take the idle ones.
var streamPool = sync.Pool{New: func() any {
	return &stream{kick: make(chan struct{}, 1), room: make(chan struct{}, 1), exited: make(chan struct{}, 1)}
}}

// A stream is the queue of one response and its writer goroutine.
type stream struct {
	w *response.Writer

	mu       sync.Mutex
	queue    []byte // produced, not yet taken by the writer
	held     int    // bytes in queue and in the writer's hands (not yet written)
	busy     bool   // the writer has a batch, written or being flushed
	idle     bool   // the writer waits on kick for work
	waiting  bool   // the producer waits on room
	closing  bool   // no more blocks: the writer ends once the queue is written
	err      error  // the writer's error, sticky; wraps response.ErrClientGone
	panicked any    // a panic caught in the writer

	writing []byte // the writer's: the batch it writes, outside mu

	kick   chan struct{} // capacity 1: to the writer, work or closing
	room   chan struct{} // capacity 1: to the producer, bytes written or an error
	exited chan struct{} // capacity 1: the writer has ended
}

// startStream returns a stream for w with its writer running.
func startStream(w *response.Writer) *stream {
	s := streamPool.Get().(*stream)
	s.w = w
	streams.mu.Lock()
	if streams.all == nil {
		streams.all = make(map[*stream]struct{})
	}
	streams.all[s] = struct{}{}
	streams.mu.Unlock()
	go s.run()
	return s
}

// run is the writer goroutine.
func (s *stream) run() {
	defer func() {
		p := recover()
		s.mu.Lock()
		if p != nil {
			s.panicked = p
			s.err = errCallbackPanic
		}
		s.drop()
		s.wake()
		s.mu.Unlock()
		s.exited <- struct{}{}
	}()
	s.mu.Lock()
	for {
		for len(s.queue) == 0 && !s.closing && s.err == nil {
			s.idle = true
			s.mu.Unlock()
			<-s.kick
			s.mu.Lock()
		}
		if len(s.queue) == 0 || s.err != nil {
			s.mu.Unlock()
			return
		}
		s.queue, s.writing = s.writing[:0], s.queue
		s.busy = true
		s.mu.Unlock()

		// The batch goes out a piece at a time, and each piece written
		// makes room in the queue: the app refills it while the rest
		// is written, so a slow client has the next batch waiting.
		var err error
		for p := s.writing; len(p) > 0 && err == nil; {
			n := min(len(p), writePiece)
			_, err = s.w.Write(p[:n])
			p = p[n:]
			s.mu.Lock()
			s.held -= n
			if s.held <= StreamQueue/4 {
				s.wake()
			}
			s.mu.Unlock()
		}
		s.mu.Lock()
		if err == nil && len(s.queue) == 0 {
			// Nothing more to write now: the block must reach the
			// client before the app makes the next. With more queued,
			// the next write pushes this one out.
			s.mu.Unlock()
			err = s.w.Flush()
			s.mu.Lock()
		}
		s.busy = false
		if s.held <= StreamQueue/4 {
			s.wake() // a drain waits for this, with nothing held
		}
		if err != nil {
			s.err = err
		}
	}
}

// poke wakes the writer if it waits for work. s.mu is held.
func (s *stream) poke() {
	if s.idle {
		s.idle = false
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// wake tells a producer waiting for room to look again. s.mu is held.
func (s *stream) wake() {
	if s.waiting {
		s.waiting = false
		select {
		case s.room <- struct{}{}:
		default:
		}
	}
}

// drop forgets what is queued, once the writer has failed. s.mu is held.
func (s *stream) drop() {
	s.queue, s.held = s.queue[:0], 0
}

// push queues a copy of p for the writer, waiting while the queue is too
// full to take it. It fails with the writer's error, or when ctx ends or
// expired is closed (the request's deadline passed) while it waits.
func (s *stream) push(ctx context.Context, expired <-chan struct{}, p []byte) error {
	s.mu.Lock()
	for s.err == nil && s.held > 0 && s.held+len(p) > StreamQueue {
		if err := s.wait(ctx, expired); err != nil {
			return err
		}
	}
	if s.err != nil {
		s.mu.Unlock()
		return s.err
	}
	s.queue = appendBounded(s.queue, p)
	s.held += len(p)
	s.poke()
	s.mu.Unlock()
	return nil
}

// drain waits until everything queued has been written and flushed, and
// returns the writer's error. The writer is then idle, and stays so while
// nothing is pushed: the caller may use the ResponseWriter.
// It fails as push does.
func (s *stream) drain(ctx context.Context, expired <-chan struct{}) error {
	s.mu.Lock()
	for s.err == nil && (s.held > 0 || s.busy) {
		if err := s.wait(ctx, expired); err != nil {
			return err
		}
	}
	err := s.err
	s.mu.Unlock()
	return err
}

// wait waits for the writer to make progress. s.mu is held, and released
// while it waits; it stays held unless ctx ends or expired is closed,
// which returns the client's error with s.mu released.
func (s *stream) wait(ctx context.Context, expired <-chan struct{}) error {
	s.waiting = true
	s.mu.Unlock()
	var err error
	select {
	case <-s.room:
	case <-ctx.Done():
		err = fmt.Errorf("%w: %v", response.ErrClientGone, ctx.Err())
	case <-expired:
		err = errDeadline
	}
	if err != nil {
		s.mu.Lock()
		s.waiting = false
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	return nil
}

// errDeadline is a wait on the writer ended by the request's deadline.
var errDeadline = fmt.Errorf("%w: the request's deadline passed while its app waited on the client", response.ErrClientGone)

// stop ends the writer once it has written what is queued (or failed),
// and puts s back in the pool. It returns the writer's error and the
// value of a panic it caught.
func (s *stream) stop() (err error, panicked any) {
	s.mu.Lock()
	s.closing = true
	s.poke()
	s.mu.Unlock()
	<-s.exited
	streams.mu.Lock()
	delete(streams.all, s)
	streams.mu.Unlock()
	// The writer has ended: nothing else touches s now.
	err, panicked = s.err, s.panicked
	select { // a wake-up the producer did not wait for
	case <-s.room:
	default:
	}
	select {
	case <-s.kick:
	default:
	}
	s.w, s.queue, s.writing = nil, s.queue[:0], s.writing[:0]
	s.busy, s.idle, s.waiting, s.closing, s.err, s.panicked = false, false, false, false, nil, nil
	streamPool.Put(s)
	return err, panicked
}

// appendBounded is append(b, p...) for a queue, whose length never exceeds
// StreamQueue: its capacity doubles up to StreamQueue, not beyond.
func appendBounded(b, p []byte) []byte {
	if need := len(b) + len(p); need > cap(b) {
		nb := make([]byte, len(b), min(max(2*cap(b), need, 16<<10), max(StreamQueue, need)))
		copy(nb, b)
		b = nb
	}
	return append(b, p...)
}
