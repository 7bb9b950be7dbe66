package main

import (
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/wsgi/examples/internal/progtest"
)

// TestProgram runs the program as the README does, twice on one data
// directory: the first start creates the database and the admin from
// ADMIN_PASSWORD/-admin-user, the second finds them (and the note added in
// between). Without a password it refuses to start.
func TestProgram(t *testing.T) {
	bin := filepath.Join(progtest.Build(t, ".", "."), "django-admin")
	data := t.TempDir()
	env := func(kv ...string) []string {
		return append(progtest.Environ("ADMIN_PASSWORD", "ADMIN_USER", "DJANGO_ADMIN_DATA", "DJANGO_SECRET_KEY",
			"DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS"), kv...)
	}

	t.Run("no password", func(t *testing.T) {
		cmd := exec.Command(bin, "-data", data)
		cmd.Env = env()
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "set ADMIN_PASSWORD") {
			t.Errorf("without a password: %v\n%s", err, out)
		}
	})

	password := randomString()
	title := "kept across restarts " + randomString()[:6]
	for i, name := range []string{"first start", "second start"} {
		t.Run(name, func(t *testing.T) {
			addr := progtest.FreeAddr(t)
			stop := progtest.Start(t, "", env("ADMIN_PASSWORD="+password), bin, "-addr", addr, "-data", data, "-admin-user", "root")
			base := "http://" + addr
			progtest.WaitUp(t, base+"/login")
			c := client()
			p := fetch(t, c, "POST", base+"/login", url.Values{"username": {"root"}, "password": {password}})
			if p.Status != http.StatusSeeOther {
				t.Fatalf("sign in as root: %d\n%s", p.Status, p.Body)
			}
			if i == 0 {
				p = fetch(t, c, "GET", base+"/admin/notes/note/add/", nil)
				m := csrfInput.FindStringSubmatch(p.Body)
				if m == nil {
					t.Fatalf("add form: %d\n%s", p.Status, p.Body)
				}
				p = fetch(t, c, "POST", base+"/admin/notes/note/add/",
					url.Values{"csrfmiddlewaretoken": {m[1]}, "title": {title}, "_save": {"Save"}})
				if p.Status != http.StatusFound {
					t.Fatalf("add a note: %d\n%s", p.Status, p.Body)
				}
			}
			p = fetch(t, c, "GET", base+"/admin/notes/note/", nil)
			if p.Status != 200 || !strings.Contains(p.Body, title) {
				t.Errorf("change list: %d, lacks %q", p.Status, title)
			}
			stop()
		})
	}
}
