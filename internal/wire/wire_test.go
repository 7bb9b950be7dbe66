package wire

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"

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
	got := http.Header{}
	code, err := ParseHead(p, got)
	if err != nil || code != 201 {
		t.Fatalf("ParseHead: %d %v", code, err)
	}
	if diff := cmp.Diff(h, got); diff != "" {
		t.Errorf("header round trip (-sent +got):\n%s", diff)
	}
	if ct, ok := got["Content-Type"]; !ok || ct != nil {
		t.Errorf("Content-Type = %#v, %v; want present and nil (no sniffing)", ct, ok)
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
