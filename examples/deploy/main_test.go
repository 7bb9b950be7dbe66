// Package deploy holds the deployment recipes (systemd units, a
// Dockerfile, Kubernetes manifests) and tests that check them as far as
// this machine can: the real gowsgi binary run with each recipe's flags,
// and the files parsed and checked against each other.
package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	gowsgi string // the gowsgi binary, built from ../../cmd/gowsgi
	appDir string // ./app, the app every recipe serves
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		tmp, err := os.MkdirTemp("", "gowsgi-deploy-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer os.RemoveAll(tmp)
		if appDir, err = filepath.Abs("app"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		// Built in the repository's own module, as a user builds it: this
		// module only holds the tests and their Kubernetes dependencies.
		gowsgi = filepath.Join(tmp, "gowsgi")
		build := exec.Command("go", "build", "-o", gowsgi, "./cmd/gowsgi")
		build.Dir = "../.."
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build ./cmd/gowsgi: %v\n%s", err, out)
			return 2
		}
		return m.Run()
	}())
}

// flagValue returns the value of the long flag --name in args (as
// "--name V" or "--name=V"); the last one wins, as in gowsgi's parsing.
func flagValue(args []string, name string) (string, bool) {
	val, found := "", false
	for i, a := range args {
		switch {
		case a == "--"+name && i+1 < len(args):
			val, found = args[i+1], true
		case strings.HasPrefix(a, "--"+name+"="):
			val, found = strings.TrimPrefix(a, "--"+name+"="), true
		}
	}
	return val, found
}

// setFlag returns a copy of args with every --name's value replaced by
// val, failing the test if args has no --name.
func setFlag(t *testing.T, args []string, name, val string) []string {
	t.Helper()
	out, found := append([]string(nil), args...), false
	for i, a := range out {
		switch {
		case a == "--"+name && i+1 < len(out):
			out[i+1], found = val, true
		case strings.HasPrefix(a, "--"+name+"="):
			out[i], found = "--"+name+"="+val, true
		}
	}
	if !found {
		t.Fatalf("no --%s in %q", name, args)
	}
	return out
}

// printConfig runs gowsgi --print-config with args (flags only) and
// returns its settings, one "name = value" line each, by name.
func printConfig(t *testing.T, env []string, args ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(gowsgi, append([]string{"--print-config"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gowsgi --print-config %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	settings := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			settings[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return settings
}

// startGowsgi runs the built gowsgi with args and env added to this
// process's environment, and returns its output; it is killed when the
// test ends, and its output logged if the test failed.
func startGowsgi(t *testing.T, env, args []string) *lockedBuffer {
	t.Helper()
	cmd := exec.Command(gowsgi, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("gowsgi %s:\n%s", strings.Join(args, " "), out.String())
		}
	})
	return out
}
