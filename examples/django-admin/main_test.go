package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
	"github.com/gowsgi/wsgi/internal/syncbuf"
)

// Django can be set up once per process, and one test binary is one
// process: every test shares the site TestMain starts lazily, with a fresh
// data directory and a password made up for this run.
var (
	dataDir       string
	adminPassword = randomString()
	siteOnce      sync.Once
	siteURL       string
	siteErr       error
	siteLogs      = &syncbuf.Buffer{}
)

const adminUser = "admin"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gowsgi-django-admin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dataDir = dir
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := wsgi.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "wsgi.Shutdown:", err)
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// site starts the program (first call only) and returns its URL.
func site(t *testing.T) string {
	t.Helper()
	siteOnce.Do(func() {
		start := time.Now()
		h, err := newServer(config{
			PyDir: ".", DataDir: dataDir, AdminUser: adminUser, AdminPassword: adminPassword,
			Log: slog.New(slog.NewTextHandler(siteLogs, nil)),
		})
		if err != nil {
			siteErr = err
			return
		}
		t.Logf("Django ready (migrated, admin created, static collected) in %v", time.Since(start).Round(time.Millisecond))
		siteURL = httptest.NewServer(h).URL // lives until the process ends
	})
	if siteErr != nil {
		t.Fatal(siteErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", siteLogs.String())
		}
	})
	return siteURL
}

func randomString() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// client is a browser-like HTTP client: cookies kept, redirects not
// followed, so each step can be checked.
func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	Status   int
	Location string
	Header   http.Header
	Body     string
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values, hdr ...string) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{resp.StatusCode, resp.Header.Get("Location"), resp.Header, string(b)}
}

func login(t *testing.T, base string, c *http.Client) {
	t.Helper()
	p := fetch(t, c, "POST", base+"/login", url.Values{"username": {adminUser}, "password": {adminPassword}, "next": {"/admin/"}})
	if p.Status != http.StatusSeeOther || p.Location != "/admin/" {
		t.Fatalf("sign in: %d to %q, want 303 to /admin/\n%s", p.Status, p.Location, p.Body)
	}
}

// TestLoginGate: /admin/ is reachable only through Go's login, and nothing
// a client sends can stand in for it.
func TestLoginGate(t *testing.T) {
	base := site(t)
	c := client()

	p := fetch(t, c, "GET", base+"/admin/notes/note/?o=1", nil)
	if p.Status != http.StatusFound || p.Location != "/login?next=%2Fadmin%2Fnotes%2Fnote%2F%3Fo%3D1" {
		t.Fatalf("signed out: %d to %q, want 302 to the login page", p.Status, p.Location)
	}
	// Posing as the admin: a REMOTE_USER-like header, a forged cookie.
	p = fetch(t, c, "GET", base+"/admin/", nil, "Remote-User", adminUser, "X-Remote-User", adminUser)
	if p.Status != http.StatusFound {
		t.Errorf("with a Remote-User header: %d, want 302 to the login page", p.Status)
	}
	forged := (&auth{key: []byte("not the server's key")}).sign(adminUser, time.Now().Add(time.Hour))
	p = fetch(t, c, "GET", base+"/admin/", nil, "Cookie", cookieName+"="+forged)
	if p.Status != http.StatusFound {
		t.Errorf("with a forged cookie: %d, want 302 to the login page", p.Status)
	}
	// Django's own login page is Go's.
	p = fetch(t, c, "GET", base+"/admin/login/?next=/admin/", nil)
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/login") {
		t.Errorf("/admin/login/: %d to %q, want a redirect to /login", p.Status, p.Location)
	}

	p = fetch(t, c, "GET", base+"/login?next=%2Fadmin%2F", nil)
	if p.Status != 200 || !strings.Contains(p.Body, `name="next" value="/admin/"`) {
		t.Fatalf("login page: %d\n%s", p.Status, p.Body)
	}
	p = fetch(t, c, "POST", base+"/login", url.Values{"username": {adminUser}, "password": {"wrong"}})
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Wrong user name or password") {
		t.Errorf("wrong password: %d\n%s", p.Status, p.Body)
	}
	if got := fetch(t, c, "GET", base+"/admin/", nil); got.Status != http.StatusFound {
		t.Errorf("after a failed sign-in /admin/ answered %d", got.Status)
	}
	// An open redirect through next is refused.
	p = fetch(t, c, "POST", base+"/login", url.Values{"username": {adminUser}, "password": {adminPassword}, "next": {"//evil.example/"}})
	if p.Status != http.StatusSeeOther || p.Location != "/admin/" {
		t.Errorf("next=//evil.example/: %d to %q, want /admin/", p.Status, p.Location)
	}

	login(t, base, c)
	p = fetch(t, c, "GET", base+"/admin/", nil)
	if p.Status != 200 || !strings.Contains(p.Body, "Site administration") || !strings.Contains(p.Body, `href="/admin/notes/note/"`) {
		t.Fatalf("signed in, /admin/: %d\n%s", p.Status, p.Body)
	}
	// Django knows the user Go signed in (REMOTE_USER → RemoteUserMiddleware).
	if !strings.Contains(p.Body, "<strong>"+adminUser+"</strong>") {
		t.Errorf("the admin page does not greet %s:\n%s", adminUser, p.Body)
	}

	// Sign out through Django's link, which Go handles.
	p = fetch(t, c, "GET", base+"/admin/logout/", nil)
	if p.Status != http.StatusSeeOther || p.Location != "/login" {
		t.Errorf("logout: %d to %q", p.Status, p.Location)
	}
	if p = fetch(t, c, "GET", base+"/admin/", nil); p.Status != http.StatusFound {
		t.Errorf("after logout /admin/ answered %d, want 302", p.Status)
	}
}

var csrfInput = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)

// TestAddNoteHTTP does over plain HTTP what the browser test does: add a
// note through the admin form, CSRF token included, and find it in the
// change list. It runs where no Chromium is installed.
func TestAddNoteHTTP(t *testing.T) {
	base := site(t)
	c := client()
	login(t, base, c)

	p := fetch(t, c, "GET", base+"/admin/notes/note/add/", nil)
	m := csrfInput.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		t.Fatalf("add form: %d, CSRF token found: %v\n%s", p.Status, m != nil, p.Body)
	}
	title := "HTTP note " + randomString()[:6]
	form := url.Values{"csrfmiddlewaretoken": {m[1]}, "title": {title}, "body": {"added with net/http"}, "_save": {"Save"}}

	// Without the token Django refuses: CSRF protection is on.
	noToken := url.Values{"title": {title}, "body": {"x"}}
	if p := fetch(t, c, "POST", base+"/admin/notes/note/add/", noToken); p.Status != http.StatusForbidden {
		t.Errorf("POST without a CSRF token: %d, want 403", p.Status)
	}

	p = fetch(t, c, "POST", base+"/admin/notes/note/add/", form)
	if p.Status != http.StatusFound || p.Location != "/admin/notes/note/" {
		t.Fatalf("POST add: %d to %q, want 302 to /admin/notes/note/\n%s", p.Status, p.Location, p.Body)
	}
	p = fetch(t, c, "GET", base+"/admin/notes/note/", nil)
	if p.Status != 200 || !strings.Contains(p.Body, html.EscapeString(title)) {
		t.Fatalf("change list: %d, lacks %q\n%s", p.Status, title, p.Body)
	}
	if !strings.Contains(p.Body, "was added successfully") {
		t.Errorf("no success message (Django's messages framework) on the change list")
	}
}

// TestStaticFiles: Go serves what collectstatic put in the data directory.
func TestStaticFiles(t *testing.T) {
	base := site(t)
	c := client()
	p := fetch(t, c, "GET", base+"/static/admin/css/base.css", nil)
	if p.Status != 200 || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/css") || len(p.Body) < 1000 {
		t.Errorf("base.css: %d %q, %d bytes", p.Status, p.Header.Get("Content-Type"), len(p.Body))
	}
	if p := fetch(t, c, "GET", base+"/static/admin/", nil); p.Status != 404 {
		t.Errorf("a static directory answered %d, want 404 (no listings)", p.Status)
	}
	login(t, base, c)
	p = fetch(t, c, "GET", base+"/admin/", nil)
	if !strings.Contains(p.Body, `href="/static/admin/css/base.css"`) {
		t.Errorf("the admin does not link its CSS under /static/:\n%s", p.Body)
	}
}

// TestDataDir: the first start made the database and a private secret key.
func TestDataDir(t *testing.T) {
	site(t)
	for _, name := range []string{"db.sqlite3", "secret_key", "static/admin/js/core.js"} {
		if _, err := os.Stat(filepath.Join(dataDir, name)); err != nil {
			t.Error(err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "secret_key")); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("secret_key mode %v, want 0600", fi.Mode().Perm())
	}
	// Nothing secret in the sources.
	settings, err := os.ReadFile(filepath.Join("site", "adminsite", "settings.py"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(filepath.Join(dataDir, "secret_key"))
	if k := bytes.TrimSpace(key); len(k) < 40 || bytes.Contains(settings, k) {
		t.Errorf("secret key: %d bytes, in settings.py: %v", len(k), bytes.Contains(settings, k))
	}
}
