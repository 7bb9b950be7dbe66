package wire

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pair returns two Conns on a fresh socket pair.
func pair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	a, b, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ca, err := FileConn(a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := FileConn(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ca.Close(); cb.Close() })
	return ca, cb
}

func TestRequestRoundTrip(t *testing.T) {
	// One Request parsed into again and again, as a worker does: nothing
	// of an earlier request may stay behind.
	var kept Request
	for _, r := range []Request{
		{Flags: 1, Deadline: 1234567890123, Mode: InlineBody, Method: "POST", URI: "/x?y=1", Env: []byte("packed"), Body: []byte("the body")},
		{Method: "GET", URI: "/", Env: []byte{}, Body: []byte{}},
		{Mode: StreamBody, Method: "PUT", URI: "/big", Env: bytes.Repeat([]byte("e"), 5000), Body: []byte{}},
	} {
		a, b := pair(t)
		a.AppendRequest(&r)
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
		typ, p, err := b.Next()
		if err != nil || typ != Req {
			t.Fatalf("Next: %v %v", typ, err)
		}
		got, err := ParseRequest(p)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&r, got); diff != "" {
			t.Errorf("request round trip (-sent +got):\n%s", diff)
		}
		if err := kept.Parse(p); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, kept); diff != "" {
			t.Errorf("Parse into a kept Request (-sent +got):\n%s", diff)
		}
	}
}

func TestParseRequestMalformed(t *testing.T) {
	a, b := pair(t)
	a.AppendRequest(&Request{Method: "GET", URI: "/x", Env: []byte("env")})
	a.Flush()
	_, p, _ := b.Next()
	for n := 0; n < len(p)-len("env"); n++ {
		var r Request
		if err := r.Parse(p[:n]); !errors.Is(err, ErrFrame) {
			t.Errorf("%d of %d bytes: %v, want ErrFrame", n, len(p), err)
		}
	}
}

func TestHeadRoundTrip(t *testing.T) {
	a, b := pair(t)
	h := http.Header{"Content-Length": {"13"}, "Set-Cookie": {"a=1", "b=2"}, "Content-Type": nil, "X-Empty": {""}}
	a.AppendHead(201, h)
	a.Frame(Body, []byte("hello, "), []byte("world!"))
	a.Frame(End, []byte{0})
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	typ, p, err := b.Next()
	if err != nil || typ != Head {
		t.Fatalf("Next: %v %v", typ, err)
	}
	got := http.Header{"X-Before": {"kept"}}
	code, err := ParseHead(p, got)
	if err != nil || code != 201 {
		t.Fatalf("ParseHead: %d %v", code, err)
	}
	want := http.Header{"X-Before": {"kept"}}
	for k, v := range h {
		want[k] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("header round trip (-want +got):\n%s", diff)
	}
	if ct, ok := got["Content-Type"]; !ok || ct != nil {
		t.Errorf("Content-Type = %#v, %v; want present and nil (no sniffing)", ct, ok)
	}
	// Appending to one header's values must not overwrite another's.
	got["Set-Cookie"] = append(got["Set-Cookie"], "c=3")
	got["X-Empty"] = append(got["X-Empty"], "x")
	for k, v := range h {
		if k != "Set-Cookie" && k != "X-Empty" && !cmp.Equal(got[k], v) {
			t.Errorf("after appends, %s: %q, want %q", k, got[k], v)
		}
	}
	for n := 0; n < len(p); n++ {
		if _, err := ParseHead(p[:n], http.Header{}); err == nil {
			t.Errorf("a Head cut at %d of %d bytes parsed", n, len(p))
		}
	}
	for _, want := range []struct {
		t Type
		p string
	}{{Body, "hello, world!"}, {End, "\x00"}} {
		typ, p, err := b.Next()
		if err != nil || typ != want.t || string(p) != want.p {
			t.Errorf("Next = %v %q %v, want %v %q", typ, p, err, want.t, want.p)
		}
	}
}

func TestErrorAndUintFrames(t *testing.T) {
	a, b := pair(t)
	a.AppendUint(Read, 65536)
	a.AppendError(FileDone, 4096, ErrFileRead, "input/output error")
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	_, p, _ := b.Next()
	if n, err := Uint(p); n != 65536 || err != nil {
		t.Errorf("Uint = %d, %v", n, err)
	}
	_, p, _ = b.Next()
	n, kind, msg, err := ParseError(p)
	if n != 4096 || kind != ErrFileRead || msg != "input/output error" || err != nil {
		t.Errorf("ParseError = %d %d %q %v", n, kind, msg, err)
	}
}

// TestFilePassing: a descriptor sent with a frame arrives with it, and
// shares the file's offset.
func TestFilePassing(t *testing.T) {
	a, b := pair(t)
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("0123456789")
	f.Seek(4, io.SeekStart)
	a.AppendUint(File, 3)
	if err := a.FlushFile(f); err != nil {
		t.Fatal(err)
	}
	typ, _, err := b.Next()
	if err != nil || typ != File {
		t.Fatalf("Next: %v %v", typ, err)
	}
	g, err := b.TakeFile("passed")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	buf := make([]byte, 3)
	if _, err := io.ReadFull(g, buf); err != nil || string(buf) != "456" {
		t.Errorf("read %q, %v from the passed descriptor, want 456 (the sender's offset)", buf, err)
	}
	if _, err := b.TakeFile("none"); !errors.Is(err, ErrFrame) {
		t.Errorf("TakeFile with none left: %v, want ErrFrame", err)
	}
}

func TestNextErrors(t *testing.T) {
	a, b := pair(t)
	a.Frame(Body, []byte("x"))
	a.Flush()
	a.CloseWrite()
	if typ, _, err := b.Next(); typ != Body || err != nil {
		t.Fatalf("Next: %v %v", typ, err)
	}
	if _, _, err := b.Next(); err != io.EOF {
		t.Errorf("Next at a clean end: %v, want io.EOF", err)
	}

	c, d := pair(t)
	c.SetBuffer(AppendHeader(c.Buffer(), Body, 10))
	c.SetBuffer(append(c.Buffer(), "abc"...))
	c.Flush()
	c.CloseWrite()
	if _, _, err := d.Next(); err != io.ErrUnexpectedEOF {
		t.Errorf("Next within a frame: %v, want io.ErrUnexpectedEOF", err)
	}

	e, f := pair(t)
	e.SetBuffer(append(e.Buffer(), byte(Body), 1, 0, 0, 0, 0, 0, 0))
	e.Flush()
	if _, _, err := f.Next(); !errors.Is(err, ErrFrame) {
		t.Errorf("Next with a bad header: %v, want ErrFrame", err)
	}
}

// FuzzParse: no payload makes the parsers panic or read out of bounds.
func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 15))
	f.Add([]byte{0xc8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		ParseRequest(p)
		ParseHead(p, http.Header{})
		ParseError(p)
		Uint(p)
	})
}

// TestDetach: payloads read before a Detach stay as they were while the
// Conn reads on, including a frame that was half read.
func TestDetach(t *testing.T) {
	a, b := pair(t)
	a.Frame(Data, []byte("first"))
	a.Frame(Data, []byte("second"))
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	_, p1, err := b.Next()
	if err != nil {
		t.Fatal(err)
	}
	spare := b.Detach(nil)
	for i := 0; i < 100; i++ {
		a.Frame(Data, bytes.Repeat([]byte{byte(i)}, 1000))
	}
	flushed := make(chan error)
	go func() { flushed <- a.Flush() }()
	_, p2, err := b.Next()
	if err != nil || string(p2) != "second" {
		t.Fatalf("after Detach: %q %v", p2, err)
	}
	for i := 0; i < 100; i++ {
		_, p, err := b.Next()
		if err != nil || !bytes.Equal(p, bytes.Repeat([]byte{byte(i)}, 1000)) {
			t.Fatalf("frame %d: %d bytes, %v", i, len(p), err)
		}
	}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if string(p1) != "first" {
		t.Errorf("the payload read before Detach is now %q", p1)
	}
	// The old buffer serves as the next spare.
	b.Detach(spare)
	a.Frame(EOF)
	a.Flush()
	if typ, _, err := b.Next(); err != nil || typ != EOF {
		t.Errorf("after a second Detach: %v %v", typ, err)
	}
	a.Close()
	if _, _, err := b.Next(); err != io.EOF {
		t.Errorf("after close: %v, want io.EOF", err)
	}
}

// TestBlockingConn: a BlockingConn reads and writes blocked and through
// the poller alike, switching between requests, and Abort ends a read
// blocked either way.
func TestBlockingConn(t *testing.T) {
	for _, polled := range []bool{false, true} {
		a, b, err := Pair()
		if err != nil {
			t.Fatal(err)
		}
		peer, err := FileConn(a)
		a.Close()
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		fd, err := syscall.Dup(int(b.Fd()))
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		c, err := BlockingConn(fd)
		if err != nil {
			t.Fatal(err)
		}
		for i, mode := range []bool{polled, !polled, polled} {
			if err := c.SetPolled(mode); err != nil {
				t.Fatal(err)
			}
			peer.AppendUint(Read, uint64(i))
			peer.Flush()
			typ, p, err := c.Next()
			if v, _ := Uint(p); err != nil || typ != Read || v != uint64(i) {
				t.Fatalf("polled %v: %v %d %v", mode, typ, v, err)
			}
			c.AppendUint(Data, uint64(i))
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			if typ, p, err := peer.Next(); err != nil || typ != Data || len(p) != 8 {
				t.Fatalf("reply: %v %v", typ, err)
			}
		}
		done := make(chan error)
		go func() { _, _, err := c.Next(); done <- err }()
		time.Sleep(20 * time.Millisecond)
		c.Abort()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("polled %v: a read after Abort succeeded", polled)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("polled %v: Abort did not end a blocked read", polled)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, _, err := peer.Next(); err == nil {
			t.Errorf("the peer read a frame after Close")
		}
	}
}
