package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIConfigFile: a gunicorn.conf.py sets the flags of its names and
// the app; $GUNICORN_CMD_ARGS and the command line come after it; names
// gowsgi does not know, and server hooks, are logged.
func TestCLIConfigFile(t *testing.T) {
	dir := t.TempDir()
	addr, cmdline := freePort(t), freePort(t)
	conf := filepath.Join(dir, "gunicorn.conf.py")
	os.WriteFile(conf, []byte(`import multiprocessing
bind = "`+addr+`"
workers = 2
threads = multiprocessing.cpu_count() * 2
raw_env = ["GREETING=from the file", "OTHER=x"]
chdir = "`+appDir+`"
wsgi_app = "app:app"
daemon = False
no_such_setting = 1

def on_starting(server):
    pass
`), 0o644)

	t.Run("-c", func(t *testing.T) {
		p := startGowsgi(t, nil, "-c", conf)
		waitReady(t, p, http.DefaultClient, "http://"+addr+"/")
		if got := getProcess(t, "http://"+addr+"/process?GREETING"); got.Env == nil || *got.Env != "from the file" {
			t.Errorf("raw_env from the file: GREETING is %v", got.Env)
		}
		_, body := readAll(t, http.DefaultClient, "http://"+addr+"/environ")
		if !strings.Contains(body, `"multiprocess": true`) {
			t.Errorf("workers = 2 from the file: the app is not in worker processes: %s", body)
		}
		out := p.stderr.String()
		for _, want := range []string{"ignored: no_such_setting", "not used: on_starting"} {
			if !strings.Contains(out, want) {
				t.Errorf("the log does not say %q:\n%s", want, out)
			}
		}
	})

	t.Run("./gunicorn.conf.py, overridden", func(t *testing.T) {
		// Read from the working directory without -c, as gunicorn; the
		// variable's and the command line's flags win over it.
		cmd := exec.Command(binary, "--bind", cmdline, "--print-config")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GUNICORN_CMD_ARGS=--workers 5")
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"bind                       = [" + cmdline + "]\n", "workers                    = 5\n", "env                        = [GREETING=from the file,OTHER=x]\n"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("--print-config:\n%s\nwant %q", out, want)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct{ text, want string }{
			{"bind = (\n", "SyntaxError"},
			{"import nosuchmodule\n", "No module named 'nosuchmodule'"},
			{"workers = 'many'\n", `workers = "many": invalid argument`},
			{"preload_app = True\n", "gunicorn's --preload is not supported"},
		} {
			bad := filepath.Join(t.TempDir(), "bad.conf.py")
			os.WriteFile(bad, []byte(tc.text), 0o644)
			p := startGowsgi(t, nil, "-c", bad, "--chdir", appDir, "app:app")
			if code := p.wait(t, 30*time.Second); code == 0 || !strings.Contains(p.stderr.String(), tc.want) {
				t.Errorf("config %q: exit %d, output:\n%s\nwant a failure that says %q", tc.text, code, p.stderr.String(), tc.want)
			}
		}
		p := startGowsgi(t, nil, "-c", filepath.Join(dir, "missing.py"), "app:app")
		if code := p.wait(t, 30*time.Second); code == 0 || !strings.Contains(p.stderr.String(), "no such file") {
			t.Errorf("a missing config: exit %d, output:\n%s", code, p.stderr.String())
		}
	})
}
