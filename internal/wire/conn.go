package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
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
	Stacks    // the App asks a worker for its Python threads' tracebacks
	StackDump // the worker's answer: the text
	Gate      // the App asks a worker for its scheduler's state (metrics)
	GateState // the worker's answer: JSON
)

var typeNames = [...]string{"", "Req", "Read", "Data", "EOF", "BodyErr", "Head", "Body", "Flush", "File",
	"FileDone", "End", "Socket", "Stop", "Ready", "LoadError", "Log", "Stacks", "StackDump", "Gate", "GateState"}

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
	uc *net.UnixConn // through the runtime's poller; nil while a BlockingConn blocks

	// A BlockingConn's socket, -1 for another Conn. fdMu orders Abort
	// and Close, so an Abort never shuts down a descriptor reused since.
	fdMu   sync.Mutex
	fd     int
	closed bool

	rbuf []byte
	r, w int   // unread bytes: rbuf[r:w]
	fds  []int // received descriptors not yet taken, oldest first
	oob  []byte

	wbuf []byte
}

// NewConn returns a Conn on uc.
func NewConn(uc *net.UnixConn) *Conn {
	return &Conn{uc: uc, fd: -1, rbuf: make([]byte, readBuf), oob: make([]byte, syscall.CmsgSpace(maxFDs*4))}
}

// BlockingConn returns a Conn on the socket fd, which it owns, whose
// reads and writes block their thread until SetPolled(true): each read is
// then one recvmsg(2), woken by the kernel itself. Through the runtime's
// poller a read that waits costs a recvmsg that fails (EAGAIN), an
// epoll_pwait and the wake-up of the thread in it, and every read by the
// peer wakes that thread once more (EPOLLOUT, edge-triggered, for
// nothing); a blocked read costs a thread instead, for as long as it
// waits: right for a socket that is alone to wait, wrong for many.
func BlockingConn(fd int) (*Conn, error) {
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("wire: %w", err)
	}
	return &Conn{fd: fd, rbuf: make([]byte, readBuf), oob: make([]byte, syscall.CmsgSpace(maxFDs*4))}, nil
}

// SetPolled switches a BlockingConn between blocking reads and writes
// (false) and the runtime's poller (true); a Conn already so is left as it
// is. No other goroutine may use the Conn meanwhile (but Abort).
func (c *Conn) SetPolled(on bool) error {
	if c.fd < 0 || on == (c.uc != nil) {
		return nil
	}
	if !on {
		// Closing the poller's copy takes the socket out of its epoll set.
		c.uc.Close()
		c.uc = nil
		return syscall.SetNonblock(c.fd, false)
	}
	dup, err := syscall.Dup(c.fd)
	if err != nil {
		return fmt.Errorf("wire: %w", err)
	}
	f := os.NewFile(uintptr(dup), "wire")
	nc, err := net.FileConn(f) // a copy of its own, non-blocking
	f.Close()
	if err != nil {
		return err
	}
	c.uc = nc.(*net.UnixConn)
	return nil
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
func (c *Conn) Abort() {
	if c.fd < 0 {
		c.uc.Close()
		return
	}
	c.fdMu.Lock()
	if !c.closed {
		syscall.Shutdown(c.fd, syscall.SHUT_RDWR) // wakes a blocked read; close would not
	}
	c.fdMu.Unlock()
}

// Close closes the socket and every descriptor received and not taken.
func (c *Conn) Close() error {
	for _, fd := range c.fds {
		syscall.Close(fd)
	}
	c.fds = nil
	if c.uc != nil {
		c.uc.Close()
	}
	if c.fd < 0 {
		return nil
	}
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return syscall.Close(c.fd)
}

// Fd returns a BlockingConn's descriptor, or -1.
func (c *Conn) Fd() int { return c.fd }

// SetReadDeadline sets the deadline of reads (the zero time: none).
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c.uc != nil {
		return c.uc.SetReadDeadline(t)
	}
	var tv syscall.Timeval
	if !t.IsZero() {
		tv = syscall.NsecToTimeval(max(int64(time.Until(t)), int64(time.Microsecond)))
	}
	return syscall.SetsockoptTimeval(c.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
}

// readMsg reads into p, and descriptors into c.oob.
func (c *Conn) readMsg(p []byte) (n, oobn int, err error) {
	if c.uc != nil {
		n, oobn, _, _, err = c.uc.ReadMsgUnix(p, c.oob)
		return n, oobn, err
	}
	for {
		n, oobn, _, _, err = syscall.Recvmsg(c.fd, p, c.oob, syscall.MSG_CMSG_CLOEXEC)
		if err != syscall.EINTR {
			break
		}
	}
	if err == syscall.EAGAIN {
		err = os.ErrDeadlineExceeded // SO_RCVTIMEO
	}
	if err != nil {
		return 0, 0, &net.OpError{Op: "read", Net: "unix", Err: err}
	}
	if n == 0 && len(p) > 0 {
		err = io.EOF
	}
	return n, oobn, err
}

// write writes b whole, with the descriptors of oob (if any) on its first
// byte.
func (c *Conn) write(b, oob []byte) error {
	if c.uc != nil {
		if oob == nil {
			_, err := c.uc.Write(b)
			return err
		}
		n, _, err := c.uc.WriteMsgUnix(b, oob, nil)
		if err == nil && n < len(b) {
			_, err = c.uc.Write(b[n:]) // the descriptors went with the first byte
		}
		return err
	}
	for len(b) > 0 {
		n, err := syscall.SendmsgN(c.fd, b, oob, nil, syscall.MSG_NOSIGNAL)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &net.OpError{Op: "write", Net: "unix", Err: err}
		}
		b, oob = b[n:], nil
	}
	return nil
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

// Detach keeps the payloads read so far valid past the next call to
// Next: the Conn reads on into spare (or a new buffer, if spare is too
// small), and the buffer they lie in is returned to the caller, who may
// give it back as a later Detach's spare once done with them.
func (c *Conn) Detach(spare []byte) (old []byte) {
	if len(spare) < readBuf || len(spare) < c.w-c.r {
		spare = make([]byte, max(readBuf, c.w-c.r))
	}
	old = c.rbuf
	c.w = copy(spare, c.rbuf[c.r:c.w])
	c.r = 0
	c.rbuf = spare
	return old
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
		m, oobn, err := c.readMsg(c.rbuf[c.w:])
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
	err := c.write(c.wbuf, nil)
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
	err = sc.Control(func(fd uintptr) { werr = c.write(c.wbuf, syscall.UnixRights(int(fd))) })
	c.wbuf = c.wbuf[:0]
	if err != nil {
		return err
	}
	return werr
}

// CloseWrite shuts down the writing side of the socket.
func (c *Conn) CloseWrite() error {
	if c.fd < 0 {
		return c.uc.CloseWrite()
	}
	return syscall.Shutdown(c.fd, syscall.SHUT_WR)
}

// UnixConn returns the socket through the poller: nil for a BlockingConn
// that blocks.
func (c *Conn) UnixConn() *net.UnixConn { return c.uc }

// TakeFD is TakeFile for a caller that wants the descriptor itself.
func (c *Conn) TakeFD() (int, error) {
	if len(c.fds) == 0 {
		return -1, fmt.Errorf("%w: no descriptor came with the frame", ErrFrame)
	}
	fd := c.fds[0]
	c.fds = c.fds[1:]
	return fd, nil
}
