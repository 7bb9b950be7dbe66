// Command django-admin serves a Django project's admin at /admin/ from a Go
// program. Go owns sign-in: a login page at /login checks the admin
// password and keeps the user in a signed session cookie; requests to
// /admin/ reach Django only when signed in, with the user name in
// REMOTE_USER, which Django's RemoteUserMiddleware trusts. Go serves the
// admin's static files itself.
//
// On start, inside the embedded Python, the program creates and migrates
// the SQLite database, creates the admin user if missing and collects the
// static files: no manual step.
//
//	cd examples/django-admin # a module of its own, so that chromedp stays out of the library's
//	ADMIN_PASSWORD='choose-one' go run .
//	# then open http://127.0.0.1:8080/admin/ and sign in as admin
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gowsgi/wsgi"
)

// config is what newServer needs; main fills it from flags and the
// environment.
type config struct {
	PyDir         string // directory holding site/ (the Django project)
	DataDir       string // database, secret key, collected static files
	AdminUser     string
	AdminPassword string
	SessionTTL    time.Duration // how long a Go login lasts (default 12h)
	Log           *slog.Logger
}

func main() {
	pydir := defaultPyDir()
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.StringVar(&pydir, "pydir", pydir, "directory holding site/, the Django project")
	data := flag.String("data", envOr("DJANGO_ADMIN_DATA", filepath.Join(pydir, "data")),
		"data directory: SQLite database, secret key, static files (default $DJANGO_ADMIN_DATA or data/ beside the project)")
	user := flag.String("admin-user", envOr("ADMIN_USER", "admin"), "the admin's user name (default $ADMIN_USER or admin)")
	password := flag.String("admin-password", "", "the admin's password (default $ADMIN_PASSWORD; prefer the variable: flags show in ps)")
	flag.Parse()
	if *password == "" {
		*password = os.Getenv("ADMIN_PASSWORD")
	}
	if *password == "" {
		fmt.Fprintln(os.Stderr, "django-admin: set ADMIN_PASSWORD (or -admin-password): the password Go's login page asks for")
		os.Exit(2)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h, err := newServer(config{PyDir: pydir, DataDir: *data, AdminUser: *user, AdminPassword: *password, Log: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "django-admin:", err)
		os.Exit(1)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	logger.Info("django-admin: serving", "url", "http://"+*addr+"/admin/", "user", *user, "data", *data, "python", wsgi.PythonVersion())
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "django-admin:", err)
		os.Exit(1)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wsgi.Shutdown(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "django-admin:", err)
		os.Exit(1)
	}
}

// newServer prepares Django (migrate, admin user, collectstatic) and
// returns the site: Go's login, the static files and the admin. Django can
// be set up once per process, so call it once.
func newServer(cfg config) (http.Handler, error) {
	if cfg.AdminUser == "" || cfg.AdminPassword == "" {
		return nil, errors.New("the admin user name and password must not be empty")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	data, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	// Factory arguments are Python literals; a JSON string is one.
	dataArg, _ := json.Marshal(data)
	userArg, _ := json.Marshal(cfg.AdminUser)
	django, err := wsgi.New(fmt.Sprintf("adminsite.wsgi:create_app(%s, %s)", dataArg, userArg),
		wsgi.WithPythonPath(filepath.Join(cfg.PyDir, "site")),
		wsgi.WithLogger(cfg.Log.With("app", "django")),
		wsgi.WithThreads(8),
		wsgi.WithEnviron(func(r *http.Request) map[string]string {
			// requireLogin put the user there; Django's
			// RemoteUserMiddleware logs them in.
			if u, ok := r.Context().Value(userKey{}).(string); ok {
				return map[string]string{"REMOTE_USER": u}
			}
			return nil
		}),
	)
	if err != nil {
		return nil, err
	}

	a := &auth{cfg: cfg, key: make([]byte, 32)}
	rand.Read(a.key) // a new key per process: a restart signs everyone out

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", a.loginPage)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("/logout", a.logout)
	// Django's own sign-in and sign-out pages are Go's.
	mux.HandleFunc("/admin/logout/", a.logout)
	mux.Handle("/admin/login/", http.RedirectHandler("/login?next=%2Fadmin%2F", http.StatusFound))
	mux.Handle("/admin/", a.requireLogin(django)) // SCRIPT_NAME "/admin"
	mux.Handle("/static/", http.StripPrefix("/static/", noDirs(http.FileServer(http.Dir(filepath.Join(data, "static"))))))
	mux.Handle("GET /{$}", http.RedirectHandler("/admin/", http.StatusFound))
	return mux, nil
}

type userKey struct{}

const cookieName = "gowsgi_login"

// auth is Go's login: one user, a password compared in constant time, and
// a session cookie holding "user|expiry" signed with HMAC-SHA256.
type auth struct {
	cfg config
	key []byte
}

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title>
<style>body{font-family:sans-serif;max-width:22em;margin:4em auto}label,input,button{display:block;width:100%;margin:.4em 0}
.error{color:#b00}</style></head>
<body><h1>Sign in</h1>
<p>The Django admin is behind this Go login.</p>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="next" value="{{.Next}}">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" value="{{.User}}" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button id="signin" type="submit">Sign in</button>
</form></body></html>
`))

func (a *auth) loginPage(w http.ResponseWriter, r *http.Request) {
	a.renderLogin(w, http.StatusOK, safeNext(r.FormValue("next")), "", "")
}

func (a *auth) renderLogin(w http.ResponseWriter, status int, next, user, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	loginTmpl.Execute(w, map[string]string{"Next": next, "User": user, "Error": msg})
}

func (a *auth) login(w http.ResponseWriter, r *http.Request) {
	user, pass, next := r.PostFormValue("username"), r.PostFormValue("password"), safeNext(r.PostFormValue("next"))
	if equal(user, a.cfg.AdminUser)&equal(pass, a.cfg.AdminPassword) != 1 {
		a.cfg.Log.Warn("failed sign-in", "user", user, "remote", r.RemoteAddr)
		a.renderLogin(w, http.StatusUnauthorized, next, user, "Wrong user name or password.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: a.sign(user, time.Now().Add(a.cfg.SessionTTL)),
		Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
		MaxAge: int(a.cfg.SessionTTL / time.Second),
	})
	a.cfg.Log.Info("signed in", "user", user, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// equal compares a and b in constant time, whatever their lengths: it
// compares their SHA-256 digests (ConstantTimeCompare alone returns at once
// when the lengths differ, which tells the password's length). It returns
// 1 if they are equal, else 0.
func equal(a, b string) int {
	x, y := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(x[:], y[:])
}

func (a *auth) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	// Django's own session, which RemoteUserMiddleware made, goes too.
	http.SetCookie(w, &http.Cookie{Name: "sessionid", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// requireLogin passes signed-in requests on with the user in the context
// and sends the others to the login page.
func (a *auth) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := a.user(r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			} else {
				http.Error(w, "sign in first", http.StatusUnauthorized)
			}
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}

func (a *auth) sign(user string, exp time.Time) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(user + "|" + strconv.FormatInt(exp.Unix(), 10)))
	return payload + "." + base64.RawURLEncoding.EncodeToString(a.mac(payload))
}

func (a *auth) mac(payload string) []byte {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// user checks the session cookie and returns its user.
func (a *auth) user(r *http.Request) (string, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", false
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, a.mac(payload)) {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", false
	}
	user, expStr, ok := strings.Cut(string(raw), "|")
	exp, err := strconv.ParseInt(expStr, 10, 64)
	if !ok || err != nil || time.Now().Unix() > exp || user == "" {
		return "", false
	}
	return user, true
}

// safeNext keeps a redirect target only if it is a path on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/admin/"
	}
	return next
}

// noDirs answers 404 for directories instead of listing them.
func noDirs(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// defaultPyDir is the directory of this source file (go run, go test), or
// examples/django-admin under the working directory.
func defaultPyDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		if dir := filepath.Dir(file); exists(filepath.Join(dir, "site", "adminsite")) {
			return dir
		}
	}
	if dir := filepath.Join("examples", "django-admin"); exists(filepath.Join(dir, "site", "adminsite")) {
		return dir
	}
	return "."
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
