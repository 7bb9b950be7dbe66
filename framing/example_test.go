package framing_test

import (
	"log"
	"net"
	"net/http"

	"github.com/gowsgi/wsgi/framing"
)

// A Go service that mounts a WSGI app (or any handler) in its own
// http.Server behind a proxy serves it through the guard: a request with
// both Content-Length and Transfer-Encoding, Transfer-Encoding on
// HTTP/1.0, or an obs-fold header line gets 400 and its connection is
// closed, so nothing hidden in its body is taken as a request.
func ExampleGuard() {
	mux := http.NewServeMux()
	mux.Handle("/", http.NotFoundHandler()) // e.g. mux.Handle("/legacy/", wsgi.Handler("app:app"))

	ln, err := net.Listen("tcp", "127.0.0.1:8000")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	log.Fatal(srv.Serve(framing.Guard(ln)))
}
