package main

// gunicorn's command line: every flag of the installed gunicorn is known,
// and each of them does what gunicorn's users expect, or stops the server
// saying why.

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gunicornFlags lists the long flags of Debian's gunicorn, from its own
// settings.
func gunicornFlags(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", "-c",
		"import gunicorn.config as c\nfor s in c.KNOWN_SETTINGS:\n for f in s.cli or []:\n  print(f)").Output()
	if err != nil {
		t.Skipf("Debian's gunicorn is not installed (scripts/install-deps.sh installs it): %v", err)
	}
	var long []string
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "--") {
			long = append(long, f)
		}
	}
	if len(long) < 50 {
		t.Fatalf("only %d flags from gunicorn: %q", len(long), long)
	}
	return long
}

// TestGunicornFlagsKnown: every gunicorn flag is a gowsgi flag (done,
// ignored with a warning, or refused with a reason), and is in the README's
// table.
func TestGunicornFlagsKnown(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "### gunicorn flag → gowsgi")
	if !ok {
		t.Fatal("README.md has no \"### gunicorn flag → gowsgi\" table")
	}
	table, _, _ = strings.Cut(table, "\n#")
	fs := newFlagSet(&config{}, io.Discard)
	for _, f := range gunicornFlags(t) {
		name := strings.TrimPrefix(f, "--")
		if name == "log-file" { // the other name of --error-logfile
			name = "error-logfile"
		}
		if fs.Lookup(name) == nil {
			t.Errorf("gunicorn's %s is not a gowsgi flag", f)
		}
		if !regexp.MustCompile("(?m)^\\|[^|\\n]*`" + regexp.QuoteMeta(f) + "[` ]").MatchString(table) {
			t.Errorf("gunicorn's %s is not in README.md's table", f)
		}
	}
}

// TestCLIRefusedFlags: a gunicorn flag gowsgi does not do stops it with
// exit 2 and why; an ignored one runs, with a warning.
func TestCLIRefusedFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--daemon"}, "gunicorn's --daemon is not supported: gowsgi does not detach itself"},
		{[]string{"-D"}, "gunicorn's --daemon is not supported"},
		{[]string{"--preload"}, "gunicorn's --preload is not supported"},
		{[]string{"--worker-connections", "1000"}, "gunicorn's --worker-connections is not supported"},
		{[]string{"--statsd-host", "localhost:8125"}, "Prometheus metrics instead"},
		{[]string{"-k", "gevent"}, "--worker-class gevent is not supported"},
		{[]string{"--worker-class", "uvicorn.workers.UvicornWorker"}, "WSGI apps, not ASGI"},
		{[]string{"--env", "NOEQUALS"}, `--env "NOEQUALS": want NAME=VALUE`},
		{[]string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			p := startGowsgi(t, nil, append(tc.args, "--chdir", appDir, "app:app")...)
			if code := p.wait(t, 20*time.Second); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(p.stderr.String(), tc.want) {
				t.Errorf("output:\n%s\nwant it to say %q", p.stderr.String(), tc.want)
			}
		})
	}

	// Ignored flags: the server runs and says what it ignored.
	addr := freePort(t)
	p := startGowsgi(t, nil, "--bind", addr, "--worker-tmp-dir", "/dev/shm", "-k", "gthread", "--chdir", appDir, "app:app")
	waitReady(t, p, http.DefaultClient, "http://"+addr+"/")
	if out := p.stderr.String(); !strings.Contains(out, "--worker-tmp-dir has no effect") {
		t.Errorf("no warning for --worker-tmp-dir:\n%s", out)
	}
}

// process is the app's /process answer.
type process struct {
	UID, GID int
	Groups   []int
	Env      *string
	Home     string
}

func getProcess(t *testing.T, url string) process {
	t.Helper()
	_, body := readAll(t, http.DefaultClient, url)
	var p process
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("%s: %q: %v", url, body, err)
	}
	return p
}

// TestCLICmdArgs: $GUNICORN_CMD_ARGS (or $GOWSGI_CMD_ARGS) adds flags
// before the command line's, which win; $WEB_CONCURRENCY sets --workers
// and $PORT the default --bind, as with gunicorn.
func TestCLICmdArgs(t *testing.T) {
	addr, other := freePort(t), freePort(t)
	p := startGowsgi(t, []string{"GUNICORN_CMD_ARGS=--bind " + other + " --env 'GREETING=hello there' -t 5"},
		"--bind", addr, "--chdir", appDir, "app:app")
	waitReady(t, p, http.DefaultClient, "http://"+addr+"/")
	if got := getProcess(t, "http://"+addr+"/process?GREETING"); got.Env == nil || *got.Env != "hello there" {
		t.Errorf("--env from $GUNICORN_CMD_ARGS: GREETING is %v, want \"hello there\"", got.Env)
	}
	if _, err := http.Get("http://" + other + "/"); err == nil {
		t.Errorf("the command line's --bind did not replace $GUNICORN_CMD_ARGS's: %s answers", other)
	}

	port := strings.TrimPrefix(freePort(t), "127.0.0.1:")
	out, err := exec.Command("env", "WEB_CONCURRENCY=3", "PORT="+port, "GOWSGI_CMD_ARGS=--max-requests 9", binary, "--print-config").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"workers                    = 3\n", "bind                       = [0.0.0.0:" + port + "]\n", "max-requests               = 9\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--print-config with $WEB_CONCURRENCY, $PORT and $GOWSGI_CMD_ARGS:\n%s\nwant %q", out, want)
		}
	}
}

// TestCLICheckConfig: --check-config loads the app and exits, 0 if it
// loads and 1 with the traceback if not, without listening.
func TestCLICheckConfig(t *testing.T) {
	addr := freePort(t)
	for _, tc := range []struct {
		spec string
		code int
		want string
	}{
		{"app:app", 0, "the app loads"},
		{"app:missing", 1, "has no attribute 'missing'"},
		{"nosuchmodule:app", 1, "No module named 'nosuchmodule'"},
	} {
		for _, workers := range []string{"1", "2"} {
			p := startGowsgi(t, nil, "--check-config", "--workers", workers, "--bind", addr, "--chdir", appDir, tc.spec)
			if code := p.wait(t, 30*time.Second); code != tc.code || !strings.Contains(p.stderr.String(), tc.want) {
				t.Errorf("--check-config --workers %s %s: exit %d, want %d and %q; output:\n%s", workers, tc.spec, code, tc.code, tc.want, p.stderr.String())
			}
		}
	}
}

// TestCLIErrorLogfile: --error-logfile takes the server's log; with
// --capture-output the app's stdout and stderr too.
func TestCLIErrorLogfile(t *testing.T) {
	for _, capture := range []bool{false, true} {
		t.Run("capture="+strconv.FormatBool(capture), func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "error.log")
			addr := freePort(t)
			args := []string{"--bind", addr, "--log-file", logPath, "--chdir", appDir, "app:app"}
			if capture {
				args = append([]string{"--capture-output"}, args...)
			}
			p := startGowsgi(t, nil, args...)
			waitReady(t, p, http.DefaultClient, "http://"+addr+"/")
			getProcess(t, "http://"+addr+"/process?marker")
			p.cmd.Process.Signal(os.Interrupt)
			p.wait(t, 30*time.Second)
			log, _ := os.ReadFile(logPath)
			out := p.stderr.String()
			if !strings.Contains(string(log), `msg=listening`) || strings.Contains(out, "msg=listening") {
				t.Errorf("the server's log is not (only) in the file:\nfile:\n%s\nstderr:\n%s", log, out)
			}
			for _, line := range []string{"app stdout marker", "app stderr marker"} {
				inFile, inOut := strings.Contains(string(log), line), strings.Contains(out, line)
				if inFile != capture || inOut == capture {
					t.Errorf("%q: in the file %v, on the process's output %v; want the file only with --capture-output", line, inFile, inOut)
				}
			}
		})
	}
}

// TestCLIUser: started as root with --user and --group, the app runs as
// them, and the unix socket is theirs.
func TestCLIUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	dir := shortTempDir(t)
	os.Chmod(dir, 0o777)
	sock := filepath.Join(dir, "app.sock")
	for _, workers := range []string{"1", "2"} {
		t.Run("workers="+workers, func(t *testing.T) {
			p := startGowsgi(t, nil, "--bind", "unix:"+sock, "--user", "nobody", "--group", "nogroup", "--workers", workers, "--chdir", appDir, "app:app")
			c := unixClient(sock)
			waitReady(t, p, c, "http://gowsgi/")
			_, body := readAll(t, c, "http://gowsgi/process")
			var got process
			json.Unmarshal([]byte(body), &got)
			uid, _ := strconv.Atoi(nobody.Uid)
			g, _ := user.LookupGroup("nogroup")
			gid, _ := strconv.Atoi(g.Gid)
			if got.UID != uid || got.GID != gid || len(got.Groups) != 1 || got.Groups[0] != gid {
				t.Errorf("the app runs as uid %d gid %d groups %v; want nobody (%d), nogroup (%d) alone", got.UID, got.GID, got.Groups, uid, gid)
			}
			var st syscallStat
			if st, err = statOwner(sock); err != nil || st.uid != uid || st.gid != gid {
				t.Errorf("the socket belongs to %d:%d (%v), want %d:%d", st.uid, st.gid, err, uid, gid)
			}
			p.cmd.Process.Signal(os.Interrupt)
			p.wait(t, 30*time.Second)
			if _, err := os.Stat(sock); !os.IsNotExist(err) {
				t.Errorf("the socket is still there after a clean stop: %v", err)
			}
		})
	}
}

type syscallStat struct{ uid, gid int }

func statOwner(path string) (syscallStat, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return syscallStat{}, err
	}
	return syscallStat{int(st.Uid), int(st.Gid)}, nil
}
