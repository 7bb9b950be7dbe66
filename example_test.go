package wsgi_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

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
