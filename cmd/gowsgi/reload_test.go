package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIReload: with --reload, a change to one of the app's .py files
// reloads it; a change that does not load leaves the old app serving; a
// file that is not Python, or byte code, changes nothing.
func TestCLIReload(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		// As editors save: a new file renamed over the old.
		if err := os.WriteFile(path+".tmp", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	app := func(word string) string {
		return "from pkg.words import SUFFIX\n\ndef app(environ, start_response):\n" +
			"    start_response('200 OK', [('Content-Type', 'text/plain')])\n" +
			"    return [('" + word + "' + SUFFIX).encode()]\n"
	}
	write("app.py", app("one"))
	write("pkg/__init__.py", "")
	write("pkg/words.py", "SUFFIX = '.'\n")

	addr := freePort(t)
	p := startGowsgi(t, nil, "--reload", "--bind", addr, "--chdir", dir, "app:app")
	waitReady(t, p, http.DefaultClient, "http://"+addr+"/")
	await := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, body := readAll(t, http.DefaultClient, "http://"+addr+"/")
			if body == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the app says %q, want %q after the change", body, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	reloads := func() int { return strings.Count(p.stderr.String(), "reloading: a file changed") }

	await("one.")
	write("app.py", app("two"))
	await("two.")
	write("pkg/words.py", "SUFFIX = '!'\n")
	await("two!")
	if n := reloads(); n != 2 {
		t.Errorf("%d reloads for 2 changes", n)
	}

	// Not Python, or not the app's: no reload. The next change to a .py
	// file is the third reload.
	write("notes.txt", "hello")
	write("pkg/__pycache__/words.cpython-311.pyc", "junk")
	write(".git/hook.py", "x = 1")
	write("app.py", "this is not python(\n")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr.String(), "reload failed; the app as it was goes on serving") {
		if time.Now().After(deadline) {
			t.Fatal("no \"reload failed\" in the log after a syntax error")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := reloads(); n != 3 {
		t.Errorf("%d reloads, want 3: a file that is not the app's source reloaded it", n)
	}
	await("two!")
	write("app.py", app("three"))
	await("three!")
}
