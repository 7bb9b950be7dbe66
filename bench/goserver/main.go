// Command goserver is the benchmark's ceiling: a pure Go net/http server
// doing, per request, the same work as the Python app of one workload in
// bench/apps. No Python, no cgo: what gowsgi would reach if Python cost
// nothing.
//
//	goserver --bind 127.0.0.1:8000 --workload hello
//
// Workloads: hello, flask_hello, flask_json, stream, echo, iobound. The
// django and mixed workloads have no Go equivalent here (SQLite from Go
// would need cgo, and a Go busy loop does not cost what a Python one does),
// so benchrun runs no ceiling for them.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// item and payload mirror bench/apps/flask_json.py: fields in the order
// Flask's sorted keys put them, so the documents are nearly identical.
type item struct {
	Active bool     `json:"active"`
	Email  string   `json:"email"`
	ID     int      `json:"id"`
	Name   string   `json:"name"`
	Score  float64  `json:"score"`
	Tags   []string `json:"tags"`
}

type payload struct {
	Count int    `json:"count"`
	Items []item `json:"items"`
	Page  int    `json:"page"`
}

func jsonPayload() payload {
	p := payload{Page: 1}
	for i := 0; i < 10; i++ {
		tags := []string{"gamma"}
		if i%2 == 1 {
			tags = []string{"alpha", "beta"}
		}
		p.Items = append(p.Items, item{
			ID:     i,
			Name:   fmt.Sprintf("item-%02d", i),
			Email:  fmt.Sprintf("user%02d@example.com", i),
			Active: i%3 != 0,
			Score:  float64(i) * 1.25,
			Tags:   tags,
		})
	}
	p.Count = len(p.Items)
	return p
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

const (
	streamBlock  = 10240
	streamBlocks = 100
)

// handlers returns the handler of each workload.
func handlers() map[string]http.HandlerFunc {
	hello := []byte("Hello, World!")
	helloLen := strconv.Itoa(len(hello))
	doc := jsonPayload()
	block := []byte(strings.Repeat("x", streamBlock))
	return map[string]http.HandlerFunc{
		"hello": func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h["Content-Type"] = []string{"text/plain"}
			h["Content-Length"] = []string{helloLen}
			w.Write(hello)
		},
		"flask_hello": func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h["Content-Type"] = []string{"text/html; charset=utf-8"}
			h["Content-Length"] = []string{helloLen}
			w.Write(hello)
		},
		"flask_json": func(w http.ResponseWriter, r *http.Request) {
			b, err := json.Marshal(doc) // encoded per request, as jsonify does
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			b = append(b, '\n')
			h := w.Header()
			h["Content-Type"] = []string{"application/json"}
			h["Content-Length"] = []string{strconv.Itoa(len(b))}
			w.Write(b)
		},
		"stream": func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = []string{"application/octet-stream"}
			rc := http.NewResponseController(w)
			for i := 0; i < streamBlocks; i++ { // each block sent as it comes, like gowsgi
				if _, err := w.Write(block); err != nil {
					return
				}
				if err := rc.Flush(); err != nil {
					return
				}
			}
		},
		"echo": func(w http.ResponseWriter, r *http.Request) {
			// Read into a pooled buffer sized by Content-Length, as gowsgi
			// pre-reads bodies up to 64 KiB (io.ReadAll's growing buffer
			// made this ceiling slower than gowsgi).
			bp := bodyPool.Get().(*[]byte)
			defer bodyPool.Put(bp)
			var data []byte
			var err error
			if n := r.ContentLength; n >= 0 && n <= 1<<20 {
				if int64(cap(*bp)) < n {
					*bp = make([]byte, n)
				}
				data = (*bp)[:n]
				_, err = io.ReadFull(r.Body, data)
			} else {
				data, err = io.ReadAll(r.Body)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			h := w.Header()
			h["Content-Type"] = []string{"application/octet-stream"}
			h["Content-Length"] = []string{strconv.Itoa(len(data))}
			w.Write(data)
		},
		"iobound": func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(2 * time.Millisecond)
			h := w.Header()
			h["Content-Type"] = []string{"text/plain"}
			h["Content-Length"] = []string{"2"}
			w.Write([]byte("ok"))
		},
	}
}

func main() {
	bind := flag.String("bind", "127.0.0.1:8000", "address to listen on")
	workload := flag.String("workload", "hello", "hello, flask_hello, flask_json, stream, echo or iobound")
	flag.Parse()
	h, ok := handlers()[*workload]
	if !ok {
		log.Fatalf("goserver: unknown --workload %q", *workload)
	}
	ln, err := net.Listen("tcp", *bind)
	if err != nil {
		log.Fatalf("goserver: %v", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
		<-c
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("goserver: %v", err)
	}
}
