package main

// gunicorn's command line, as far as it means something here: the flags
// gowsgi takes under gunicorn's names are defined in parseFlags; this file
// holds the rest, those it accepts and ignores, saying why, and those it
// refuses, saying what to do instead, and the GUNICORN_CMD_ARGS variable.

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/google/shlex"
	"github.com/spf13/pflag"
)

// A foreignFlag is a gunicorn flag gowsgi does not implement.
type foreignFlag struct {
	name, short string
	value       bool   // takes a value (else it is a switch)
	refuse      bool   // stop with why; else run and log why it is ignored
	why         string // what it would mean here, and what to do instead
}

// foreignFlags are gunicorn's flags (those of 20.1 and 23) that gowsgi
// does not implement. A flag is refused when running without it would
// surprise whoever wrote it (it asks for something gowsgi does not do);
// it is ignored, with a warning, when gowsgi already behaves as the flag
// asks or the flag tunes something gowsgi does not have.
var foreignFlags = []foreignFlag{
	{name: "daemon", short: "D", refuse: true,
		why: "gowsgi does not detach itself: run it under systemd, a container runtime or another supervisor, which keep its logs and restart it"},
	{name: "preload", refuse: true,
		why: "worker processes are started afresh (exec, not fork), so each imports the app itself and nothing is shared copy-on-write; gowsgi already fails at start if the app cannot load. Drop --preload"},
	{name: "worker-connections", value: true, refuse: true,
		why: "it bounds the connections of gunicorn's async (gevent, eventlet) workers, which gowsgi does not have; --threads bounds the requests in Python at once"},
	{name: "spew", refuse: true,
		why: "gowsgi has no line tracer; use --log-level debug, or the app's own sys.settrace"},
	{name: "paste", value: true, refuse: true,
		why: "PasteDeploy .ini files are not read: name the app as MODULE:APP (for Pyramid, a factory such as \"myapp:main({})\")"},
	{name: "paster", value: true, refuse: true, why: "see --paste"},
	{name: "paste-global", value: true, refuse: true, why: "see --paste"},
	{name: "logger-class", value: true, refuse: true,
		why: "logging is gowsgi's own (Go's log/slog); --log-level and --error-logfile set it"},
	{name: "log-config", value: true, refuse: true,
		why: "Python logging configuration files do not configure gowsgi's log; --log-level and --error-logfile do (the app's own logging is the app's)"},
	{name: "log-config-dict", value: true, refuse: true, why: "see --log-config"},
	{name: "log-config-json", value: true, refuse: true, why: "see --log-config"},
	{name: "log-syslog", refuse: true,
		why: "gowsgi logs to stderr or --error-logfile; under systemd, the journal collects stderr"},
	{name: "log-syslog-to", value: true, refuse: true, why: "see --log-syslog"},
	{name: "log-syslog-prefix", value: true, refuse: true, why: "see --log-syslog"},
	{name: "log-syslog-facility", value: true, refuse: true, why: "see --log-syslog"},
	{name: "statsd-host", value: true, refuse: true,
		why: "gowsgi exports Prometheus metrics instead (--metrics-bind)"},
	{name: "statsd-prefix", value: true, refuse: true, why: "see --statsd-host"},
	{name: "dogstatsd-tags", value: true, refuse: true, why: "see --statsd-host"},
	{name: "enable-backlog-metric", refuse: true, why: "see --statsd-host"},
	{name: "strip-header-spaces", refuse: true,
		why: "a space before a header's colon is a request-smuggling vector (RFC 9112 section 5.1); gowsgi always refuses it"},
	{name: "tolerate-dangerous-framing", refuse: true,
		why: "gowsgi always refuses requests whose framing a front proxy could read otherwise (Content-Length with Transfer-Encoding, obs-fold)"},
	{name: "permit-obsolete-folding", refuse: true, why: "see --tolerate-dangerous-framing"},
	{name: "ssl-version", value: true, refuse: true,
		why: "gowsgi negotiates TLS 1.2 or 1.3 (Go's crypto/tls) and cannot go lower"},
	{name: "ciphers", value: true, refuse: true,
		why: "Go's crypto/tls chooses the cipher suites, and its choice cannot be set from the command line"},
	{name: "ca-certs", value: true, refuse: true,
		why: "client certificates are not checked by the command; terminate mutual TLS in the front web server, or use the library with your own tls.Config"},
	{name: "cert-reqs", value: true, refuse: true, why: "see --ca-certs"},

	{name: "worker-tmp-dir", value: true,
		why: "gowsgi supervises its workers over their sockets, with no heartbeat files"},
	{name: "no-sendfile",
		why: "gowsgi uses sendfile(2) only for wsgi.file_wrapper over regular files, where it is always safe"},
	{name: "suppress-ragged-eofs", why: "Go's crypto/tls handles a TLS connection closed without close_notify"},
	{name: "do-handshake-on-connect", why: "Go's crypto/tls does the handshake on the first read or write"},
	{name: "disable-redirect-access-to-syslog", why: "gowsgi does not log to syslog"},
	{name: "enable-stdio-inheritance", short: "R", why: "the app's stdout and stderr are always the server's"},
	{name: "name", short: "n", value: true,
		why: "the process title is not changed: the processes show as the gowsgi executable"},
}

// addForeignFlags defines foreignFlags in fs, hidden from --help.
func addForeignFlags(fs *pflag.FlagSet) {
	for _, f := range foreignFlags {
		if f.value {
			fs.StringP(f.name, f.short, "", f.why)
		} else {
			fs.BoolP(f.name, f.short, false, f.why)
		}
		fs.MarkHidden(f.name)
	}
}

// checkForeignFlags returns the error for the first refused foreign flag
// that was set, and the warnings for the ignored ones.
func checkForeignFlags(fs *pflag.FlagSet) (warnings []string, err error) {
	for _, f := range foreignFlags {
		if !fs.Changed(f.name) {
			continue
		}
		if f.refuse {
			return nil, fmt.Errorf("gunicorn's --%s is not supported: %s", f.name, f.why)
		}
		warnings = append(warnings, fmt.Sprintf("--%s has no effect: %s", f.name, f.why))
	}
	return warnings, nil
}

// workerClass checks gunicorn's --worker-class: gowsgi's threads in
// --workers processes are gunicorn's sync and gthread workers; the others
// run something gowsgi does not.
func workerClass(k string) error {
	switch strings.TrimPrefix(strings.ToLower(k), "gunicorn.workers.") {
	case "", "sync", "gthread", "sync.syncworker", "gthread.threadworker":
		return nil
	case "gevent", "eventlet", "ggevent.geventworker", "geventlet.eventletworker", "tornado":
		return fmt.Errorf("--worker-class %s is not supported: gowsgi runs each request on a thread of its own, as gunicorn's gthread, and never monkey-patches the app; drop -k, and raise --threads for an app that waits", k)
	}
	if strings.Contains(strings.ToLower(k), "uvicorn") || strings.Contains(strings.ToLower(k), "asgi") {
		return fmt.Errorf("--worker-class %s is not supported: gowsgi serves WSGI apps, not ASGI", k)
	}
	return fmt.Errorf("--worker-class %s is not supported: gowsgi has one kind of worker (threads, as gunicorn's gthread, in --workers processes); drop -k", k)
}

// cmdArgs returns the arguments in $GOWSGI_CMD_ARGS, else
// $GUNICORN_CMD_ARGS, split as a POSIX shell would (gunicorn's shlex).
// They come before the command line's, which win.
func cmdArgs() (args []string, from string, err error) {
	for _, name := range []string{"GOWSGI_CMD_ARGS", "GUNICORN_CMD_ARGS"} {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		args, err := shlex.Split(v)
		if err != nil {
			return nil, name, fmt.Errorf("$%s: %w", name, err)
		}
		return args, name, nil
	}
	return nil, "", nil
}

// logWarnings logs what parseFlags found to warn about.
func logWarnings(logger *slog.Logger, warnings []string) {
	for _, w := range warnings {
		logger.Warn(w)
	}
}
