package wsgi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gowsgi/wsgi"
)

// A Python app mounted under a prefix of a Go mux sees the prefix as
// SCRIPT_NAME and the rest of the path as PATH_INFO.
func Example() {
	app, err := wsgi.New("hello:app", wsgi.WithPythonPath("testdata"))
	if err != nil {
		log.Fatal(err) // the error carries the Python traceback
	}
	defer app.Close(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/legacy/", app)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/legacy/users/42")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output: SCRIPT_NAME='/legacy' PATH_INFO='/users/42'
}

// WithScriptName sets the mount point when no mux pattern tells it, as
// behind a proxy that strips the prefix.
func ExampleWithScriptName() {
	app, err := wsgi.New("hello:app", wsgi.WithPythonPath("testdata"), wsgi.WithScriptName("/shop"))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(context.Background())
	srv := httptest.NewServer(app)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/shop/cart")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output: SCRIPT_NAME='/shop' PATH_INFO='/cart'
}

// WithEnviron hands what a Go middleware learned about a request to the
// Python app: here the signed-in user as REMOTE_USER and a request id
// under a key of the program's own. The app reads them from its environ
// (Flask: request.environ["REMOTE_USER"]; Django's RemoteUserMiddleware
// logs that user in).
func ExampleWithEnviron() {
	type userKey struct{}
	app, err := wsgi.New("rawapp:app", wsgi.WithPythonPath("testdata"),
		wsgi.WithEnviron(func(r *http.Request) map[string]string {
			env := map[string]string{"myapp.request_id": r.Header.Get("X-Request-Id")}
			if user, ok := r.Context().Value(userKey{}).(string); ok {
				env["REMOTE_USER"] = user
			}
			return env
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(context.Background())

	// The Go middleware in front: it authenticates the request and puts
	// the user in the request's context.
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer alice-token" {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, "alice"))
		}
		r.Header.Del("Authorization") // the app needs the user, not the credential
		app.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(auth)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/environ", nil)
	req.Header.Set("Authorization", "Bearer alice-token")
	req.Header.Set("X-Request-Id", "req-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	// The testdata app answers with its environ as JSON.
	var environ map[string]struct{ Value any }
	if err := json.NewDecoder(resp.Body).Decode(&environ); err != nil {
		log.Fatal(err)
	}
	fmt.Println("REMOTE_USER:", environ["REMOTE_USER"].Value)
	fmt.Println("myapp.request_id:", environ["myapp.request_id"].Value)
	_, sawToken := environ["HTTP_AUTHORIZATION"]
	fmt.Println("HTTP_AUTHORIZATION present:", sawToken)
	// Output:
	// REMOTE_USER: alice
	// myapp.request_id: req-42
	// HTTP_AUTHORIZATION present: false
}

// Keys the server sets itself are refused: PEP 3333's CGI variables
// (REQUEST_METHOD, PATH_INFO, SERVER_NAME, …), any "wsgi." key, and any
// "HTTP_" key, which would pass for a header the client sent. Such a
// request is answered 500 and the reason is logged.
func ExampleWithEnviron_refused() {
	// A logger without times, so that this example's output is stable.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
	app, err := wsgi.New("hello:app", wsgi.WithPythonPath("testdata"), wsgi.WithLogger(logger),
		wsgi.WithEnviron(func(r *http.Request) map[string]string {
			return map[string]string{"HTTP_X_USER": "alice"} // wrong: use REMOTE_USER or a key of your own
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(context.Background())
	srv := httptest.NewServer(app)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// level=ERROR msg="WSGI environ refused" method=GET uri=/ err="wsgi: EnvironFunc may not set \"HTTP_X_USER\": HTTP_ keys are request headers and setting one would spoof it; use a key of your own like \"myapp.x_user\""
	// 500 Internal Server Error
}

// WithAccessLog logs a record for each request once its response is done,
// with the status and body bytes really sent.
func ExampleWithAccessLog() {
	// A logger without times and durations, so that this example's
	// output is stable.
	access := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" {
				return slog.Attr{}
			}
			return a
		},
	}))
	app, err := wsgi.New("hello:app", wsgi.WithPythonPath("testdata"), wsgi.WithAccessLog(access))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(context.Background())
	srv := httptest.NewServer(app)

	req, _ := http.NewRequest("GET", srv.URL+"/users/42?tab=posts", nil)
	req.Header.Set("User-Agent", "example/1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	srv.Close() // waits for the handler, so the record is out
	// Output:
	// level=INFO msg=request method=GET uri="/users/42?tab=posts" proto=HTTP/1.1 status=200 bytes=37 remote=127.0.0.1 user_agent=example/1.0
}

// An App is a prometheus.Collector: registering it starts the counting.
func ExampleApp_metrics() {
	app, err := wsgi.New("hello:app", wsgi.WithPythonPath("testdata"))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(context.Background())
	reg := prometheus.NewRegistry()
	reg.MustRegister(app)
	srv := httptest.NewServer(app)
	for i := 0; i < 3; i++ {
		resp, err := http.Get(srv.URL + "/")
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
	}
	srv.Close() // waits for the handlers, so all three are counted

	fams, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "gowsgi_requests_total" {
			for _, m := range f.GetMetric() {
				fmt.Println(m.GetLabel()[0].GetValue(), m.GetLabel()[1].GetValue(), m.GetCounter().GetValue())
			}
		}
	}
	// Output: GET 2xx 3
}

// Shutdown ends a program that serves Python: once the server has stopped
// taking requests and finished those in flight, it closes every App and
// stops the interpreter (atexit handlers run). This example is not run:
// it would wait for a signal.
func ExampleShutdown() {
	app, err := wsgi.New("myproj.wsgi:application")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: ":8000", Handler: app}
	go func() {
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()

	// Ctrl-C, or the SIGTERM of systemd, Docker or Kubernetes.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil { // no new requests; waits for the others
		log.Print(err)
	}
	if err := wsgi.Shutdown(ctx); err != nil {
		log.Print(err)
	}
}
