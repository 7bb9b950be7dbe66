package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// Type is a frame's type.
type Type uint8

// The frame types; see the package doc for who sends which, and when.
const (
	Req Type = iota + 1
	Read
	Data
	EOF
	BodyErr
	Head
	Body
	Flush
	File
	FileDone
	End
	Socket
	Stop
	Ready
	LoadError
	Log
)

var typeNames = [...]string{"", "Req", "Read", "Data", "EOF", "BodyErr", "Head", "Body", "Flush", "File",
	"FileDone", "End", "Socket", "Stop", "Ready", "LoadError", "Log"}

func (t Type) String() string {
	if int(t) < len(typeNames) && t > 0 {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

const (
	// HeaderSize is the size of a frame's header.
	HeaderSize = 8
	// MaxPayload bounds a frame's payload; longer bodies go in several
	// frames.
	MaxPayload = 1 << 20
	// readBuf is a Conn's read buffer to begin with: a request's frames
	// fit in it, and it grows for a larger frame.
	readBuf = 16 << 10
	// maxFDs is how many descriptors one recvmsg may bring.
	maxFDs = 4
)

// ErrFrame is wrapped by the errors of a malformed frame.
var ErrFrame = errors.New("wire: malformed frame")

// A Conn is one end of a worker socket: a Unix stream socket with a read
// buffer, a write buffer and the descriptors received on it. A Conn is
// used by one goroutine at a time for reading and one for writing; Close
// may be called from any.
type Conn struct {
	uc *net.UnixConn

	rbuf []byte
	r, w int   // unread bytes: rbuf[r:w]
	fds  []int // received descriptors not yet taken, oldest first
	oob  []byte

	wbuf []byte
}

// NewConn returns a Conn on uc.
func NewConn(uc *net.UnixConn) *Conn {
	return &Conn{uc: uc, rbuf: make([]byte, readBuf), oob: make([]byte, syscall.CmsgSpace(maxFDs*4))}
}

// FileConn returns a Conn on a copy of the socket f; f may be closed.
func FileConn(f *os.File) (*Conn, error) {
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("wire: %s is not a Unix socket", f.Name())
	}
	return NewConn(uc), nil
}

// Pair returns a connected pair of Unix stream sockets, close-on-exec.
func Pair() (a, b *os.File, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("wire: socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "wire"), os.NewFile(uintptr(fds[1]), "wire"), nil
}

// Abort closes the socket, which ends a Next or Flush blocked on it.
// Unlike the Conn's other methods it may be called from any goroutine.
func (c *Conn) Abort() { c.uc.Close() }

// Close closes the socket and every descriptor received and not taken.
func (c *Conn) Close() error {
	for _, fd := range c.fds {
		syscall.Close(fd)
	}
	c.fds = nil
	return c.uc.Close()
}

// Next reads the next frame. Its payload is valid until the next call.
// A socket closed between frames is io.EOF; within one,
// io.ErrUnexpectedEOF.
func (c *Conn) Next() (Type, []byte, error) {
	if err := c.fill(HeaderSize); err != nil {
		if err == io.ErrUnexpectedEOF && c.w == c.r {
			err = io.EOF
		}
		return 0, nil, err
	}
	h := c.rbuf[c.r : c.r+HeaderSize]
	t, n := Type(h[0]), int(binary.LittleEndian.Uint32(h[4:]))
	if h[1]|h[2]|h[3] != 0 || n > MaxPayload {
		return 0, nil, fmt.Errorf("%w: header % x", ErrFrame, h)
	}
	if err := c.fill(HeaderSize + n); err != nil {
		return 0, nil, err
	}
	p := c.rbuf[c.r+HeaderSize : c.r+HeaderSize+n]
	c.r += HeaderSize + n
	return t, p, nil
}

// fill reads until n unread bytes are buffered.
func (c *Conn) fill(n int) error {
	if c.w-c.r >= n {
		return nil
	}
	if c.r > 0 {
		c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r = 0
	}
	if n > len(c.rbuf) {
		b := make([]byte, max(n, 2*len(c.rbuf)))
		copy(b, c.rbuf[:c.w])
		c.rbuf = b
	}
	for c.w < n {
		m, oobn, _, _, err := c.uc.ReadMsgUnix(c.rbuf[c.w:], c.oob)
		if oobn > 0 {
			c.keepFDs(c.oob[:oobn])
		}
		c.w += m
		if err != nil {
			if errors.Is(err, io.EOF) { // recvmsg's EOF comes wrapped
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if m == 0 {
			return io.ErrUnexpectedEOF
		}
	}
	return nil
}

// keepFDs queues the descriptors of control messages oob.
func (c *Conn) keepFDs(oob []byte) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	for _, m := range msgs {
		fds, err := syscall.ParseUnixRights(&m)
		if err == nil {
			for _, fd := range fds {
				syscall.CloseOnExec(fd)
			}
			c.fds = append(c.fds, fds...)
		}
	}
}

// TakeFile returns the oldest descriptor received and not taken, as a
// file the caller owns, or an error if none came.
func (c *Conn) TakeFile(name string) (*os.File, error) {
	if len(c.fds) == 0 {
		return nil, fmt.Errorf("%w: no descriptor came with the frame", ErrFrame)
	}
	fd := c.fds[0]
	c.fds = c.fds[1:]
	return os.NewFile(uintptr(fd), name), nil
}

// Frame appends a frame of type t, whose payload is the parts in order, to
// the write buffer. The parts are copied.
func (c *Conn) Frame(t Type, parts ...[]byte) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	c.wbuf = AppendHeader(c.wbuf, t, n)
	for _, p := range parts {
		c.wbuf = append(c.wbuf, p...)
	}
}

// AppendHeader appends a frame header for a payload of n bytes to b.
func AppendHeader(b []byte, t Type, n int) []byte {
	return binary.LittleEndian.AppendUint32(append(b, byte(t), 0, 0, 0), uint32(n))
}

// Buffer returns the write buffer, for a caller that appends a frame
// itself (AppendHeader, then the payload); SetBuffer gives it back.
func (c *Conn) Buffer() []byte { return c.wbuf }

// SetBuffer replaces the write buffer with b (Buffer's, appended to).
func (c *Conn) SetBuffer(b []byte) { c.wbuf = b }

// Buffered reports how many bytes wait in the write buffer.
func (c *Conn) Buffered() int { return len(c.wbuf) }

// Flush writes the write buffer to the socket.
func (c *Conn) Flush() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	_, err := c.uc.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

// FlushFile writes the write buffer, which must not be empty, with a
// duplicate of f's descriptor attached to its first byte. f stays the
// caller's.
func (c *Conn) FlushFile(f *os.File) error {
	if len(c.wbuf) == 0 {
		return fmt.Errorf("wire: a descriptor needs a frame to go with")
	}
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = sc.Control(func(fd uintptr) {
		var n int
		n, _, werr = c.uc.WriteMsgUnix(c.wbuf, syscall.UnixRights(int(fd)), nil)
		if werr == nil && n < len(c.wbuf) {
			_, werr = c.uc.Write(c.wbuf[n:]) // the descriptor went with the first byte
		}
	})
	c.wbuf = c.wbuf[:0]
	if err != nil {
		return err
	}
	return werr
}

// CloseWrite shuts down the writing side of the socket.
func (c *Conn) CloseWrite() error { return c.uc.CloseWrite() }

// UnixConn returns the socket.
func (c *Conn) UnixConn() *net.UnixConn { return c.uc }
