package main

// The process around the server: where its log goes, which user it runs
// as, and --print-config.

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"github.com/spf13/pflag"
)

// openErrorLog opens --error-logfile: "-" is stderr; a path is appended
// to. With capture, the process's stdout and stderr become the file too,
// so that what the app prints lands beside the server's log (gunicorn's
// --capture-output).
func openErrorLog(path string, capture bool) (io.Writer, error) {
	if path == "-" || path == "" {
		return os.Stderr, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--error-logfile: %w", err)
	}
	if capture {
		for _, fd := range []int{1, 2} {
			if err := syscall.Dup3(int(f.Fd()), fd, 0); err != nil {
				return nil, fmt.Errorf("--capture-output: %w", err)
			}
		}
	}
	return f, nil
}

// switchUser becomes --group and --user, after handing the unix sockets
// to them so that the server can still remove its own at exit. Groups
// first: once the user is not root, the groups cannot change.
func switchUser(cfg *config, listeners []net.Listener) error {
	if cfg.user == "" && cfg.group == "" {
		return nil
	}
	uid, gid := os.Getuid(), os.Getgid()
	var u *user.User
	if cfg.user != "" {
		var err error
		if u, err = lookupUser(cfg.user); err != nil {
			return err
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid) // the user's own group, unless --group
	}
	if cfg.group != "" {
		g, err := lookupGroup(cfg.group)
		if err != nil {
			return err
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	for _, ln := range listeners {
		if us := unixSocketOf(ln); us != nil {
			if err := os.Chown(us.path, uid, gid); err != nil {
				return fmt.Errorf("--user: handing the socket to the user: %w", err)
			}
		}
	}
	groups := []int{gid}
	if cfg.initgroups && u != nil {
		ids, err := u.GroupIds()
		if err != nil {
			return fmt.Errorf("--initgroups: %w", err)
		}
		for _, id := range ids {
			if n, err := strconv.Atoi(id); err == nil && n != gid {
				groups = append(groups, n)
			}
		}
	}
	// Go applies these to every thread of the process (since Go 1.16).
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("--user/--group: setting the groups needs root: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("--group: %w", err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("--user: %w", err)
	}
	if u != nil {
		os.Setenv("HOME", u.HomeDir)
		os.Setenv("USER", u.Username)
		os.Setenv("LOGNAME", u.Username)
	}
	return nil
}

func lookupUser(s string) (*user.User, error) {
	if _, err := strconv.Atoi(s); err == nil {
		if u, err := user.LookupId(s); err == nil {
			return u, nil
		}
		return &user.User{Uid: s, Gid: s, HomeDir: "/"}, nil // an id with no name, as gunicorn allows
	}
	u, err := user.Lookup(s)
	if err != nil {
		return nil, fmt.Errorf("--user: %w", err)
	}
	return u, nil
}

func lookupGroup(s string) (*user.Group, error) {
	if _, err := strconv.Atoi(s); err == nil {
		return &user.Group{Gid: s}, nil
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return nil, fmt.Errorf("--group: %w", err)
	}
	return g, nil
}

// printConfig is --print-config: every setting, as NAME = VALUE.
func printConfig(fs *pflag.FlagSet, w io.Writer) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "print-config" || f.Name == "help" {
			return
		}
		fmt.Fprintf(w, "%-26s = %s\n", f.Name, f.Value)
	})
}
