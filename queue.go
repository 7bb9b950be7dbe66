package wsgi

import (
	"net/http"
	"sync/atomic"
	"time"
)

// DefaultMaxQueue is how many requests may wait for a Python thread,
// beyond those running, unless WithMaxQueue says otherwise.
const DefaultMaxQueue = 1024

// WithMaxQueue bounds how many requests may wait for Python at once,
// beyond the WithThreads (times WithProcesses) that run: a request past
// the bound is answered "503 Service Unavailable" with Retry-After at
// once, rather than waiting up to the queue timeout behind the others, so
// that an overloaded server sheds load early and a load balancer can try
// another. Requests count from the moment they arrive, while their body
// is read too. 0 means no bound; the default is DefaultMaxQueue.
func WithMaxQueue(n int) Option {
	return func(o *options) { o.maxQueue = max(n, 0) }
}

// admit counts a request in and reports whether it may go on; when it
// may, the caller calls a.leave when it ends. One atomic add when the
// server is not overloaded.
func (a *App) admit(w http.ResponseWriter) bool {
	n := a.inflight.Add(1)
	if a.opt.maxQueue == 0 || n <= int64(a.opt.threads) {
		return true
	}
	running := int64(a.opt.threads)
	if a.procs != nil {
		running *= int64(len(a.procs.gen.Load().list()))
	}
	if n <= running+int64(a.opt.maxQueue) {
		return true
	}
	a.inflight.Add(-1)
	if now := time.Now().UnixNano(); now-a.shedLogged.Load() > int64(time.Second) {
		a.shedLogged.Store(now)
		a.log.Warn("too many requests waiting for Python; answered 503 (logged once a second)",
			"waiting", n-running, "max_queue", a.opt.maxQueue)
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
	return false
}

func (a *App) leave() { a.inflight.Add(-1) }

// queueState is what an App counts for admit.
type queueState struct {
	inflight   atomic.Int64 // requests in ServeHTTP past the limits
	shedLogged atomic.Int64 // when admit last logged, in Unix nanoseconds
}
