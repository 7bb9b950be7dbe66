package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gowsgi/wsgi"
)

// metricsHandler serves, on --metrics-bind's own listener and never on
// the app's: /metrics (the App's metrics with the Go runtime's and the
// process's), Go's /debug/pprof/ and /debug/pystacks (every Python
// thread's traceback, App.DumpStacks).
func metricsHandler(app *wsgi.App) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{app, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pystacks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := app.DumpStacks(w); err != nil {
			// The header may be out: say it in the body too.
			w.Write([]byte("\nerror: " + err.Error() + "\n"))
		}
	})
	return mux, nil
}

// serveMetrics serves metricsHandler on ln until the returned server is
// closed.
func serveMetrics(ln net.Listener, app *wsgi.App, logger *slog.Logger) (*http.Server, error) {
	h, err := metricsHandler(app)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("serving metrics", "addr", ln.Addr().String(), "paths", "/metrics /debug/pprof/ /debug/pystacks")
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener failed", "err", err)
		}
	}()
	return srv, nil
}
