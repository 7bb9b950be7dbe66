// Command flask-migration shows a Flask app being migrated to Go one
// endpoint at a time: new endpoints are written in Go under /api/v2/, and
// every other path falls through to the legacy Flask app (legacy/app.py),
// mounted with wsgi.Handler. One Go middleware wraps both: it gives every
// request an id and authenticates it, and the Flask app reads the identity
// from the WSGI environ (REMOTE_USER, gowsgi.request_id).
//
//	API_KEYS=alice:s3cret go run ./examples/flask-migration
//	curl -H 'Authorization: Bearer s3cret' http://127.0.0.1:8080/api/v2/whoami   # Go
//	curl -H 'Authorization: Bearer s3cret' http://127.0.0.1:8080/whoami          # Flask
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gowsgi/wsgi"
)

// config is what newServer needs; main fills it from flags.
type config struct {
	PyDir     string            // directory holding legacy/app.py
	Mount     string            // where the Flask app is mounted: "/" or like "/legacy/"
	UploadDir string            // where Flask stores uploads and Go lists them
	APIKeys   map[string]string // bearer token → user name
	Log       *slog.Logger
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	pydir := flag.String("pydir", defaultPyDir(), "directory holding legacy/app.py")
	mount := flag.String("mount", "/", `mount the Flask app here ("/" or a prefix like "/legacy/")`)
	uploads := flag.String("uploads", filepath.Join(os.TempDir(), "gowsgi-flask-uploads"), "upload directory")
	// No flag default from $API_KEYS: -h would print the tokens.
	keys := flag.String("api-keys", "", "bearer tokens as user:token,user:token (default $API_KEYS; prefer the variable: flags show in ps)")
	flag.Parse()
	if *keys == "" {
		*keys = os.Getenv("API_KEYS")
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	apiKeys, err := parseKeys(*keys)
	if err != nil {
		fail(err)
	}
	if len(apiKeys) == 0 {
		tok := randomHex(16)
		apiKeys[tok] = "demo"
		logger.Warn("API_KEYS is not set: made up a token for user demo for this run",
			"header", "Authorization: Bearer "+tok)
	}
	h, err := newServer(config{PyDir: *pydir, Mount: *mount, UploadDir: *uploads, APIKeys: apiKeys, Log: logger})
	if err != nil {
		fail(err)
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
	logger.Info("flask-migration: serving", "url", "http://"+*addr+"/", "flask_mount", *mount, "python", wsgi.PythonVersion())
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fail(err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wsgi.Shutdown(sctx); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "flask-migration:", err)
	os.Exit(1)
}

// newServer builds the whole site: the Go API, the Flask app and the
// middleware around both.
func newServer(cfg config) (http.Handler, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Mount == "" {
		cfg.Mount = "/"
	}
	if !strings.HasPrefix(cfg.Mount, "/") || !strings.HasSuffix(cfg.Mount, "/") {
		return nil, fmt.Errorf("mount %q: want / or a prefix like /legacy/", cfg.Mount)
	}
	if err := os.MkdirAll(cfg.UploadDir, 0o755); err != nil {
		return nil, err
	}
	upload, err := pyString(cfg.UploadDir)
	if err != nil {
		return nil, err
	}
	flask, err := wsgi.New("app:create_app(upload_dir="+upload+")",
		wsgi.WithPythonPath(filepath.Join(cfg.PyDir, "legacy")),
		wsgi.WithLogger(cfg.Log.With("app", "flask")),
		wsgi.WithThreads(8),
		// What the middleware learned, handed to Flask in the environ.
		wsgi.WithEnviron(func(r *http.Request) map[string]string {
			id := identityFrom(r.Context())
			env := map[string]string{"gowsgi.request_id": id.RequestID}
			if id.User != "" {
				env["REMOTE_USER"] = id.User
				env["AUTH_TYPE"] = "Bearer"
			}
			return env
		}),
	)
	if err != nil {
		return nil, err
	}

	api := http.NewServeMux()
	api.HandleFunc("GET /api/v2/whoami", func(w http.ResponseWriter, r *http.Request) {
		id := identityFrom(r.Context())
		writeJSON(w, http.StatusOK, map[string]string{"user": id.User, "request_id": id.RequestID, "served_by": "go"})
	})
	api.HandleFunc("GET /api/v2/uploads", func(w http.ResponseWriter, r *http.Request) {
		// Go and Python share state through the upload directory.
		entries, err := os.ReadDir(cfg.UploadDir)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		type file struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		}
		files := []file{}
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				files = append(files, file{e.Name(), info.Size()})
			}
		}
		sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
		writeJSON(w, http.StatusOK, map[string]any{"uploads": files})
	})
	api.HandleFunc("/api/v2/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint in API v2"})
	})

	mux := http.NewServeMux()
	mux.Handle("/api/v2/", requireUser(api))
	mux.Handle(cfg.Mount, flask) // SCRIPT_NAME is the mount prefix without its slash
	if cfg.Mount != "/" {
		mux.Handle("GET /{$}", http.RedirectHandler(cfg.Mount, http.StatusFound))
	}
	return withIdentity(cfg.APIKeys, cfg.Log, mux), nil
}

// identity is what the middleware learned about a request.
type identity struct {
	User      string // "" for anonymous
	RequestID string
}

type identityKey struct{}

func identityFrom(ctx context.Context) identity {
	id, _ := ctx.Value(identityKey{}).(identity)
	return id
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withIdentity is the one middleware in front of Go and Flask alike. It
// keeps a well-formed incoming X-Request-Id or makes one, and turns a
// bearer token into a user: a bad token is refused here, no token means
// anonymous. The token is removed from the request before the handlers see
// it, so the legacy app never holds a credential.
func withIdentity(keys map[string]string, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := identity{RequestID: r.Header.Get("X-Request-Id")}
		if !requestIDPattern.MatchString(id.RequestID) {
			id.RequestID = randomHex(8)
		}
		w.Header().Set("X-Request-Id", id.RequestID)
		if auth := r.Header.Get("Authorization"); auth != "" {
			user, ok := checkToken(keys, auth)
			if !ok {
				log.Warn("bad credentials", "request_id", id.RequestID, "path", r.URL.Path)
				w.Header().Set("WWW-Authenticate", `Bearer realm="gowsgi example"`)
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bad credentials", "request_id": id.RequestID})
				return
			}
			id.User = user
		}
		r = r.Clone(context.WithValue(r.Context(), identityKey{}, id))
		r.Header.Del("Authorization")

		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		log.Info("request", "request_id", id.RequestID, "user", id.User, "method", r.Method,
			"path", r.URL.Path, "status", rec.status, "dur", time.Since(start).Round(time.Microsecond))
	})
}

// checkToken finds the user of "Bearer TOKEN", comparing it with every
// token in constant time. The SHA-256 digests are compared, as
// ConstantTimeCompare returns at once on a length mismatch.
func checkToken(keys map[string]string, auth string) (string, bool) {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return "", false
	}
	got := sha256.Sum256([]byte(tok))
	var user string
	for k, u := range keys {
		want := sha256.Sum256([]byte(k))
		if subtle.ConstantTimeCompare(want[:], got[:]) == 1 {
			user = u
		}
	}
	return user, user != ""
}

func requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if identityFrom(r.Context()).User == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gowsgi example"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in with an API key"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recorder notes the status for the access log. Unwrap lets
// http.ResponseController reach the real writer's Flush (streaming), and
// ReadFrom keeps sendfile(2) for wsgi.file_wrapper downloads.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(r.ResponseWriter, src)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func parseKeys(s string) (map[string]string, error) {
	keys := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		user, tok, ok := strings.Cut(kv, ":")
		if !ok || user == "" || tok == "" {
			return nil, fmt.Errorf("API key %q: want user:token", kv)
		}
		keys[tok] = user
	}
	return keys, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// pyString renders s as a Python string literal for a factory spec: a JSON
// string is one.
func pyString(s string) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// defaultPyDir is the directory of this source file (go run, go test), or
// examples/flask-migration under the working directory.
func defaultPyDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		if dir := filepath.Dir(file); exists(filepath.Join(dir, "legacy", "app.py")) {
			return dir
		}
	}
	if dir := filepath.Join("examples", "flask-migration"); exists(filepath.Join(dir, "legacy", "app.py")) {
		return dir
	}
	return "."
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
