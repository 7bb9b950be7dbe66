package wsgi_test

// The App as a prometheus.Collector, in this process and with worker
// processes.

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gowsgi/wsgi"
)

// TestMetrics checks that the App's collector counts exactly the requests
// sent, by method and status class.
func TestMetrics(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app", wsgi.WithMaxRequestBody(10))
	reg := prometheus.NewRegistry()
	reg.MustRegister(app)
	srv := serve(t, app)
	send := []struct {
		method, path, body string
		n                  int
	}{
		{"GET", "/head", "", 3},
		{"HEAD", "/head", "", 2},
		{"GET", "/uncaught", "", 2},
		{"POST", "/input", strings.Repeat("b", 100), 1},
		{"BREW", "/head", "", 1},
	}
	for _, s := range send {
		for i := 0; i < s.n; i++ {
			req, _ := http.NewRequest(s.method, srv.URL+s.path, strings.NewReader(s.body))
			do(t, client, req)
		}
	}
	want := map[string]float64{"GET/2xx": 3, "HEAD/2xx": 2, "GET/5xx": 2, "POST/4xx": 1, "other/2xx": 1}
	deadline := time.Now().Add(10 * time.Second)
	var got map[string]float64
	var fams map[string]*dto.MetricFamily
	for {
		fams = gather(t, reg)
		got = map[string]float64{}
		for _, m := range fams["gowsgi_requests_total"].GetMetric() {
			got[label(m, "method")+"/"+label(m, "status")] = m.GetCounter().GetValue()
		}
		if equalCounts(got, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // the last request is counted once its handler returns
	}
	if !equalCounts(got, want) {
		t.Errorf("gowsgi_requests_total %v, want %v", got, want)
	}
	if n := fams["gowsgi_request_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); n != 9 {
		t.Errorf("duration histogram counted %d requests, want 9", n)
	}
	if v := fams["gowsgi_threads"].GetMetric()[0].GetGauge().GetValue(); v != wsgi.DefaultThreads {
		t.Errorf("gowsgi_threads %v", v)
	}
	if v := fams["gowsgi_requests_in_flight"].GetMetric()[0].GetGauge().GetValue(); v != 0 {
		t.Errorf("gowsgi_requests_in_flight %v with nothing running", v)
	}
	if testProcesses > 0 {
		if v := fams["gowsgi_workers"].GetMetric()[0].GetGauge().GetValue(); v != float64(testProcesses) {
			t.Errorf("gowsgi_workers %v, want %d", v, testProcesses)
		}
		for _, m := range fams["gowsgi_worker_resident_memory_bytes"].GetMetric() {
			if m.GetGauge().GetValue() < 1<<20 {
				t.Errorf("worker %s resident memory %v", label(m, "pid"), m.GetGauge().GetValue())
			}
		}
		if len(fams["gowsgi_worker_resident_memory_bytes"].GetMetric()) < testProcesses {
			t.Errorf("resident memory of %d workers", len(fams["gowsgi_worker_resident_memory_bytes"].GetMetric()))
		}
		// Each worker's scheduler, under its pid.
		limits := fams["gowsgi_python_limit"].GetMetric()
		if len(limits) != testProcesses {
			t.Errorf("gowsgi_python_limit of %d workers, want %d", len(limits), testProcesses)
		}
		for _, m := range limits {
			if label(m, "pid") == "" || m.GetGauge().GetValue() < 1 {
				t.Errorf("worker %q: gowsgi_python_limit %v", label(m, "pid"), m.GetGauge().GetValue())
			}
		}
		for _, m := range fams["gowsgi_python_threads"].GetMetric() {
			if m.GetGauge().GetValue() < 1 {
				t.Errorf("worker %q: gowsgi_python_threads %v after requests", label(m, "pid"), m.GetGauge().GetValue())
			}
		}
		return
	}
	if v := fams["gowsgi_python_limit"].GetMetric()[0].GetGauge().GetValue(); v < 1 {
		t.Errorf("gowsgi_python_limit %v", v)
	}
	if v := fams["gowsgi_python_threads"].GetMetric()[0].GetGauge().GetValue(); v < 1 {
		t.Errorf("gowsgi_python_threads %v after requests", v)
	}

	// Two requests computing at once contend for the GIL: the scheduler
	// samples it, and finds it held.
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			get(t, fmt.Sprintf("%s/spin_gone?id=gil%d&s=0.3", srv.URL, i))
		}(i)
	}
	wg.Wait()
	fams = gather(t, reg)
	samples := fams["gowsgi_python_gil_samples_total"].GetMetric()[0].GetCounter().GetValue()
	busy := fams["gowsgi_python_gil_busy_samples_total"].GetMetric()[0].GetCounter().GetValue()
	if samples < 1 || busy < 1 || busy > samples {
		t.Errorf("after two requests computing at once: %v GIL samples, %v busy", samples, busy)
	}
}

func gather(t *testing.T, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		m[f.GetName()] = f
	}
	return m
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func equalCounts(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestMetricsWorkers checks the worker processes' metrics: a crash is one
// restart and its 502 is counted, a recycle (WithMaxRequests) one recycle.
func TestMetricsWorkers(t *testing.T) {
	app, url, _ := procServer(t, 1, wsgi.WithMaxRequests(3))
	reg := prometheus.NewRegistry()
	reg.MustRegister(app)
	if resp, _ := get(t, url+"/crash"); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("crash: %s", resp.Status)
	}
	waitMetric(t, reg, "gowsgi_worker_restarts_total", 1)
	for i := 0; i < 3; i++ {
		waitServing(t, url+"/pid")
	}
	waitMetric(t, reg, "gowsgi_worker_recycles_total", 1)
	fams := gather(t, reg)
	var bad float64
	for _, m := range fams["gowsgi_requests_total"].GetMetric() {
		if label(m, "status") == "5xx" {
			bad += m.GetCounter().GetValue()
		}
	}
	if bad != 1 {
		t.Errorf("%v requests answered 5xx, want the crash's 502 alone", bad)
	}
}

// waitServing GETs url until it answers 200.
func waitServing(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, _ := get(t, url); resp.StatusCode == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer 200", url)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitMetric waits until the single metric of family name reaches want.
func waitMetric(t *testing.T, g prometheus.Gatherer, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var v float64
		if f := gather(t, g)[name]; f != nil && len(f.GetMetric()) > 0 {
			v = f.GetMetric()[0].GetCounter().GetValue()
		}
		if v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, v, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
