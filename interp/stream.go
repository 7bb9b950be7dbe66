package interp

/*
#include <stdlib.h>
#include "gowsgi.h"
*/
import "C"

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gowsgi/wsgi/response"
)

// A response of many blocks is transmitted while the app produces it.
//
// The first block goes out with the headers in the callback that received
// it, as it always did: the common response of one block (Flask, Django)
// pays for no hand-off. From the second block on, the blocks go into the
// request's ring (C.gw_ring, in the Call's gw_result), and a writer
// goroutine sends the ring to the client while C asks the app for the
// next block. PEP 3333 allows it: the server "must either fully transmit
// all the data to the client, or guarantee that it will continue
// transmission even while the application is producing its next block".
//
// Once the writer runs, C copies each block into the ring itself, with
// the GIL held, and goes on to the next block without calling into Go:
// no GIL hand-off and no callback a block while the writer is busy with
// what came before. It calls back only to wake a writer that sleeps
// (everything before was written and flushed: a block is never held
// back), when the ring has no room for the block (Go waits for the writer
// to make some), or after the writer failed (Go says why). The second
// block, which starts the writer, and a block that found no room are lent
// to Go and copied into the ring in the callback. Blocks that queued while
// the writer was busy with a slow client go out together, in writes of up
// to writePiece (one chunk each on HTTP/1.1) instead of one write and one
// chunk a block, and the writer flushes whenever it has caught up.
//
// The ring is a single-producer, single-consumer queue. The producer is
// the request's thread: C in produce, or Go in a gowsgiBlock callback on
// that same thread, one at a time. The consumer is the writer goroutine.
// head (bytes put in) is the producer's, tail (bytes written) the
// writer's; each reads the other's with an atomic load, and the bytes
// between them belong to the writer until it moves tail past them. A
// writer with nothing to write sets idle and then looks at head a last
// time before it sleeps; a producer stores head and then looks at idle.
// All four are sequentially consistent, so either the writer sees the new
// bytes or the producer sees that it must wake the writer (poke).
//
// Ownership: the ring's buffer is C memory of StreamQueue bytes, the
// Call's while a stream runs: taken from the package's spare rings (or
// malloc'd) by startStream, given back by stop once the writer has ended
// (kept as a spare, or freed). The writer reads it without the GIL,
// only between tail and head. A block itself is Python's memory (the bytes object, lent
// as gw_result.ext until the next block is asked for) or the Call's out
// buffer: either way it is copied into the ring before the app is asked
// for the next. No Python object and no pointer into Python's memory
// reaches the writer.
//
// A block that does not fit waits in the callback for the writer to make
// room: without the GIL, and out of the gate (later blocks leave it before
// they are sent), so the app's thread waits for its client as it did when
// it wrote each block itself. A block larger than the whole ring is not
// copied: the callback writes it itself, once the writer has written and
// flushed everything before it.
//
// While the writer runs, it alone uses the response.Writer: the callbacks
// that write directly (a write() from the app, a block too big for the
// ring) first wait for it to sleep (drain), and Run stops the writer
// before it returns, so the response is complete, written and flushed,
// when Run returns. An error of the writer (the client gone) sets the
// ring's failed flag and fails the next block, which stops the iteration
// and calls close(); a panic in it is caught there and raised again by
// Run, as for a callback.

// StreamQueue is the size of a streamed response's ring: the most it may
// have produced and not yet handed to the client's connection.
//
// A larger queue lets an app produce more of its response before it waits
// for its client: 1 MiB, which holds the whole 1 MB stream workload, did
// 1.1–1.2× the requests a second of 256 KiB, but with a p99 latency of
// 450–820 ms against 58–207 ms (wrk -c64, 32 threads; measured with the
// queue in Go memory the ring replaced, which took a callback and a GIL
// hand-off a block; see bench/NOTES.md).
const StreamQueue = 256 << 10

// writePiece is the most the writer hands the ResponseWriter at once (a
// chunk, on HTTP/1.1): each piece written makes room in the ring. A
// producer waiting for room is woken only once the ring is down to a
// quarter, so it waits at most once per three quarters of the ring:
// waking a goroutine parked in a callback (locked to its thread) takes
// tens of microseconds here.
const writePiece = 64 << 10

// spareRings is how many ring buffers of ended streams are kept for the
// next: a process that streams gets its rings back without a malloc, and
// one that stopped streaming holds at most spareRings × StreamQueue.
const spareRings = 8

var rings = make(chan *C.char, spareRings)

// getRing returns a ring buffer of StreamQueue bytes: a spare, or a new
// one. The caller owns it until putRing.
func getRing() *C.char {
	select {
	case b := <-rings:
		return b
	default:
		return (*C.char)(C.malloc(StreamQueue))
	}
}

// putRing keeps b as a spare, or frees it when there are enough.
func putRing(b *C.char) {
	select {
	case rings <- b:
	default:
		C.free(unsafe.Pointer(b))
	}
}

// StreamState is a snapshot of the responses being streamed, for logs,
// metrics and tests.
type StreamState struct {
	Streams int   // responses whose writer transmits beside the app
	Queued  int64 // bytes produced and not yet handed to the ResponseWriter, all streams
	Blocked int   // streams whose app waits for its writer: the ring is full
}

// Streams reports the responses being streamed.
func Streams() StreamState {
	streams.mu.Lock()
	defer streams.mu.Unlock()
	st := StreamState{Streams: len(streams.all)}
	for s := range streams.all {
		t := s.tail() // first: head only grows, so the difference is never negative
		st.Queued += s.head() - t
		s.mu.Lock()
		if s.waiting {
			st.Blocked++
		}
		s.mu.Unlock()
	}
	return st
}

// streams is the set of running streams, for Streams. A stream's counts
// are its own: a counter shared by all streams, updated for every block,
// cost the stream benchmark 9% of its CPU time in one atomic add.
var streams struct {
	mu  sync.Mutex
	all map[*stream]struct{}
}

// streamPool keeps streams between responses; the buffers are the Calls'.
var streamPool = sync.Pool{New: func() any {
	return &stream{kick: make(chan struct{}, 1), room: make(chan struct{}, 1), exited: make(chan struct{}, 1)}
}}

// A stream is the writer goroutine of one response and what it shares
// with the producer.
type stream struct {
	w   *response.Writer
	r   *C.gw_ring // the Call's (C memory), valid until stop returns
	buf []byte     // r.buf, r.cap bytes

	closing atomic.Bool // no more blocks: the writer ends once the ring is written

	mu       sync.Mutex
	asleep   bool  // the writer waits on kick, everything up to head written and flushed
	waiting  bool  // the producer waits on room
	err      error // the writer's error, sticky; wraps response.ErrClientGone
	panicked any   // a panic caught in the writer

	kick   chan struct{} // capacity 1: to the writer, work or closing
	room   chan struct{} // capacity 1: to the producer, bytes written or an error
	exited chan struct{} // capacity 1: the writer has ended
}

// The ring's shared fields, as sync/atomic sees them (see gw_ring).
func (s *stream) head() int64  { return atomic.LoadInt64((*int64)(unsafe.Pointer(&s.r.head))) }
func (s *stream) tail() int64  { return atomic.LoadInt64((*int64)(unsafe.Pointer(&s.r.tail))) }
func (s *stream) idle() *int32 { return (*int32)(unsafe.Pointer(&s.r.idle)) }

// startStream returns a stream for w with its writer running, in the
// Call's gw_ring r: it gives r a buffer (getRing) and turns it on, so C
// puts the later blocks there once the callback returns. stop gives the
// buffer back.
func startStream(w *response.Writer, r *C.gw_ring) *stream {
	s := streamPool.Get().(*stream)
	s.w, s.r = w, r
	r.buf, r.cap = getRing(), StreamQueue
	s.buf = unsafe.Slice((*byte)(unsafe.Pointer(r.buf)), int(r.cap))
	// No writer runs yet, and C runs only once the callback returns:
	// plain stores, published by the go statement and the return.
	r.head, r.tail, r.idle, r.failed, r.on = 0, 0, 0, 0, 1
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
		if s.err != nil {
			atomic.StoreInt32((*int32)(unsafe.Pointer(&s.r.failed)), 1)
		}
		s.wake()
		s.mu.Unlock()
		s.exited <- struct{}{}
	}()
	size := int64(len(s.buf))
	tail, flushed := s.tail(), true
	for {
		head := s.head()
		if head == tail {
			if !flushed {
				// Caught up: what was written must reach the
				// client before the app makes the next block.
				if err := s.w.Flush(); err != nil {
					s.fail(err)
					return
				}
				flushed = true
				continue
			}
			if s.closing.Load() {
				return
			}
			s.sleep(tail)
			continue
		}
		// One piece, from where the ring's bytes begin to its end or
		// to head: each makes room for the app to go on.
		at := tail % size
		n := min(head-tail, writePiece, size-at)
		if _, err := s.w.Write(s.buf[at : at+n]); err != nil {
			s.fail(err)
			return
		}
		tail += n
		atomic.StoreInt64((*int64)(unsafe.Pointer(&s.r.tail)), tail)
		flushed = false
		if s.head()-tail <= size/4 {
			s.mu.Lock()
			s.wake()
			s.mu.Unlock()
		}
	}
}

// sleep waits for the producer to put more after tail, or to close. The
// writer has written and flushed everything up to tail.
func (s *stream) sleep(tail int64) {
	atomic.StoreInt32(s.idle(), 1)
	if s.head() != tail || s.closing.Load() {
		atomic.StoreInt32(s.idle(), 0)
		return
	}
	s.mu.Lock()
	s.asleep = true
	s.wake() // a drain waits for this
	s.mu.Unlock()
	<-s.kick
	// Awake: the producer need not poke (a stale kick left idle set).
	atomic.StoreInt32(s.idle(), 0)
	s.mu.Lock()
	s.asleep = false
	s.mu.Unlock()
}

// fail records the writer's error for the producer.
func (s *stream) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// poke wakes the writer if it sleeps, after a put or closing.
func (s *stream) poke() {
	if atomic.SwapInt32(s.idle(), 0) == 1 {
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

// failure is the writer's error, if it failed.
func (s *stream) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// push copies p into the ring for the writer, waiting while the ring has
// no room for it (len(p) is at most StreamQueue). It fails with the
// writer's error, or when ctx ends or expired is closed (the request's
// deadline passed) while it waits. The producer's, in a callback.
func (s *stream) push(ctx context.Context, expired <-chan struct{}, p []byte) error {
	size := int64(len(s.buf))
	head := s.head()
	s.mu.Lock()
	for s.err == nil && size-(head-s.tail()) < int64(len(p)) {
		if err := s.wait(ctx, expired); err != nil {
			return err
		}
	}
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	at := head % size
	n := copy(s.buf[at:], p)
	copy(s.buf, p[n:])
	atomic.StoreInt64((*int64)(unsafe.Pointer(&s.r.head)), head+int64(len(p)))
	s.poke()
	return nil
}

// drain waits until everything put has been written and flushed, and
// returns the writer's error. The writer then sleeps, and keeps out of
// the ResponseWriter while nothing is put: the caller may use it. It
// fails as push does.
func (s *stream) drain(ctx context.Context, expired <-chan struct{}) error {
	s.mu.Lock()
	for s.err == nil && !(s.asleep && s.head() == s.tail()) {
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

// stop ends the writer once it has written what is in the ring (or
// failed), turns the ring off and gives its buffer back, and puts s back
// in the pool. It returns the writer's error and the value of a panic it
// caught. It is called once gw_run has returned: C reads the ring no more.
func (s *stream) stop() (err error, panicked any) {
	s.closing.Store(true)
	s.poke()
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
	s.r.on = 0
	putRing(s.r.buf)
	s.r.buf = nil
	s.w, s.r, s.buf = nil, nil, nil
	s.closing.Store(false)
	s.asleep, s.waiting, s.err, s.panicked = false, false, nil, nil
	streamPool.Put(s)
	return err, panicked
}
