package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/pires/go-proxyproto"
	"golang.org/x/sys/unix"

	"github.com/gowsgi/wsgi/environ"
)

// openListeners returns the sockets systemd passed (socket activation:
// $LISTEN_FDS), else those of --bind; with --proxy-protocol, reading the
// PROXY header first.
func openListeners(cfg *config, logger *slog.Logger) ([]net.Listener, error) {
	lns, err := openSockets(cfg, logger)
	if err != nil || !proxyOn(cfg.proxyProtocol) {
		return lns, err
	}
	allow, err := environ.ParseProxies(cfg.proxyAllow, nil)
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		return nil, fmt.Errorf("--proxy-allow-from: %w", err)
	}
	for i, ln := range lns {
		lns[i] = proxyListener(ln, allow)
	}
	return lns, nil
}

// proxyOn reads --proxy-protocol: gunicorn 20's switch, or 23's off, v1,
// v2 or auto. Both versions of the header are read either way.
func proxyOn(v string) bool {
	switch strings.ToLower(v) {
	case "", "off", "false", "0", "no":
		return false
	}
	return true
}

// proxyListener reads the PROXY protocol header (v1 or v2) a load
// balancer sends before the request, so that the connection's remote
// address, and REMOTE_ADDR, is the client's. Only a peer allow trusts
// may send one: from another the connection fails (net/http answers 400),
// so that a client cannot name its own address, as gunicorn refuses it. A connection without a
// header is served as it is.
func proxyListener(ln net.Listener, allow *environ.Proxies) net.Listener {
	return proxied{&proxyproto.Listener{
		Listener:          ln,
		ReadHeaderTimeout: 10 * time.Second,
		Policy: func(peer net.Addr) (proxyproto.Policy, error) {
			ip := ""
			if ta, ok := peer.(*net.TCPAddr); ok {
				ip = ta.IP.String()
			}
			if allow.Trusts(ip) {
				return proxyproto.USE, nil
			}
			return proxyproto.REJECT, nil
		},
	}}
}

// proxied is a listener that reads the PROXY header; unixSocketOf sees
// through it.
type proxied struct{ *proxyproto.Listener }

// unixSocketOf returns the unix socket ln listens on, or nil.
func unixSocketOf(ln net.Listener) *unixSocket {
	if p, ok := ln.(proxied); ok {
		ln = p.Listener.Listener
	}
	us, _ := ln.(*unixSocket)
	return us
}

// openSockets returns the sockets systemd passed, else those of --bind.
func openSockets(cfg *config, logger *slog.Logger) ([]net.Listener, error) {
	lns, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("the sockets systemd passed ($LISTEN_FDS): %w", err)
	}
	if len(lns) > 0 {
		for _, ln := range lns {
			if ln == nil {
				return nil, errors.New("a socket systemd passed ($LISTEN_FDS) is not a listening stream socket: use ListenStream= in the .socket unit")
			}
		}
		logger.Info("serving the sockets systemd passed; --bind is not used", "sockets", len(lns))
		return lns, nil
	}
	return listenAll(cfg.binds, listenOptions{umask: uint32(cfg.umask), backlog: cfg.backlog, reusePort: cfg.reusePort})
}

// listenOptions are the flags that shape the sockets gowsgi opens.
type listenOptions struct {
	umask     uint32 // the process's mask while a unix socket is made
	backlog   int    // listen(2)'s backlog
	reusePort bool   // SO_REUSEPORT on TCP sockets
}

// listenAll opens every --bind address: HOST:PORT, :PORT, HOST (port
// 8000) or unix:PATH. Unix sockets are created with umask as the
// process's mask, so the default 0 lets a front web server running as
// another user (nginx as www-data) connect, as with gunicorn.
func listenAll(binds []string, o listenOptions) ([]net.Listener, error) {
	var out []net.Listener
	for _, b := range binds {
		ln, err := listen(b, o)
		if err == nil {
			err = setBacklog(ln, o.backlog)
		}
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, err
		}
		out = append(out, ln)
	}
	return out, nil
}

func listen(bind string, o listenOptions) (net.Listener, error) {
	if path, ok := strings.CutPrefix(bind, "unix:"); ok {
		return listenUnix(path, o.umask)
	}
	if !strings.Contains(bind, ":") {
		bind += ":8000"
	}
	var lc net.ListenConfig
	if o.reusePort {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			})
			if err == nil {
				err = serr
			}
			return err
		}
	}
	ln, err := lc.Listen(context.Background(), "tcp", bind)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) && !o.reusePort {
			return nil, fmt.Errorf("--bind %s: %w (another server has the port; stop it, bind another, or give both --reuse-port)", bind, err)
		}
		return nil, fmt.Errorf("--bind %s: %w", bind, err)
	}
	return ln, nil
}

// setBacklog sets the listen(2) backlog of ln: Go listens with the
// system's largest (net.core.somaxconn), and listen on a listening socket
// sets a new one on Linux.
func setBacklog(ln net.Listener, n int) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), n) }); err != nil {
		return err
	}
	if lerr != nil {
		return fmt.Errorf("--backlog %d on %s: %w", n, ln.Addr(), lerr)
	}
	return nil
}

// listenUnix listens on a unix socket at path. A socket file left by a
// server that has gone is replaced; one a live server listens on is not.
func listenUnix(path string, umask uint32) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("--bind unix:%s: the path exists and is not a socket", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("--bind unix:%s: another server is listening on it (stop it, or bind another path)", path)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("--bind unix:%s: cannot tell whether a server still uses it: %w", path, err)
		}
		os.Remove(path) // stale: its server is gone
	}
	// The mask is the process's: nothing else runs yet to create a file
	// meanwhile.
	old := syscall.Umask(int(umask))
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("--bind unix:%s: %w", path, err)
	}
	// Close must not remove the file: removeSockets does, if it is still
	// this listener's.
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	ino, _ := inode(path)
	return &unixSocket{UnixListener: ul, path: path, ino: ino}, nil
}

// A unixSocket is a unix listener and the inode of its socket file.
type unixSocket struct {
	*net.UnixListener
	path string
	ino  uint64
}

func inode(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// removeSockets removes the socket files of the unix listeners, each only
// if it is still the one the listener made, not one another server made
// at that path since.
func removeSockets(lns []net.Listener) {
	for _, ln := range lns {
		if us := unixSocketOf(ln); us != nil && us.ino != 0 {
			if ino, err := inode(us.path); err == nil && ino == us.ino {
				os.Remove(us.path)
			}
		}
	}
}

// writePid writes this process's id to path (gunicorn's --pid).
func writePid(path string) error {
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("--pid: %w", err)
	}
	return nil
}
