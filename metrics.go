package wsgi

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gowsgi/wsgi/internal/wire"
	"github.com/gowsgi/wsgi/interp"
)

// The methods counted under their own name; any other is "other", so a
// client cannot grow the label set.
var metricMethods = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, "other",
}

// The status classes: "1xx" to "5xx", and "none" for a request answered
// nothing (the client went away first).
var metricClasses = [...]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

func methodIndex(m string) int {
	for i, name := range metricMethods[:len(metricMethods)-1] {
		if m == name {
			return i
		}
	}
	return len(metricMethods) - 1
}

func classIndex(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}

// metrics is what an App counts for its prometheus.Collector.
type metrics struct {
	on atomic.Bool // set once the App is described or collected: requests are counted from then

	once     sync.Once
	duration prometheus.Histogram

	requests [len(metricMethods)][len(metricClasses)]atomic.Int64
	bytes    atomic.Int64
	aborted  atomic.Int64

	// Requests waiting for a free slot (WithThreads) now, and the time
	// those that waited spent waiting, in ns.
	slotWaiting, slotWaited atomic.Int64
}

// init makes the histogram, the first time the metrics are used.
func (m *metrics) init() {
	m.once.Do(func() {
		m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gowsgi_request_duration_seconds",
			Help:    "Time from when the App got a request to the end of its response.",
			Buckets: prometheus.DefBuckets,
		})
	})
}

// end counts a request answered.
func (m *metrics) end(e *Access) {
	if !m.on.Load() {
		return
	}
	m.requests[methodIndex(e.Request.Method)][classIndex(e.Status)].Add(1)
	m.bytes.Add(e.Bytes)
	if e.Aborted {
		m.aborted.Add(1)
	}
	m.duration.Observe(e.Duration.Seconds())
}

var (
	descRequests = prometheus.NewDesc("gowsgi_requests_total",
		"Requests answered, by method (other for an unusual one) and status class (none: the client left before an answer).",
		[]string{"method", "status"}, nil)
	descBytes = prometheus.NewDesc("gowsgi_response_body_bytes_total",
		"Response body bytes handed to the connections.", nil, nil)
	descAborted = prometheus.NewDesc("gowsgi_requests_aborted_total",
		"Responses cut off: the connection was closed before their end.", nil, nil)
	descInFlight = prometheus.NewDesc("gowsgi_requests_in_flight",
		"Requests the App is serving now, waiting ones included.", nil, nil)
	descSlotWaiting = prometheus.NewDesc("gowsgi_requests_waiting_thread",
		"Requests waiting now for one of the App's threads (WithThreads).", nil, nil)
	descSlotWaited = prometheus.NewDesc("gowsgi_thread_wait_seconds_total",
		"Time requests have waited for one of the App's threads, in all.", nil, nil)
	descThreads = prometheus.NewDesc("gowsgi_threads",
		"The most requests the App runs in Python at once (WithThreads).", nil, nil)

	pidLabel = []string{"pid"}

	// The scheduler's metrics are per interpreter: this process's for an
	// app in it, each worker's with WithProcesses; pid says which.
	descGateLimit = prometheus.NewDesc("gowsgi_python_limit",
		"How many requests the scheduler lets run in Python at once now, as adapted to the app.", pidLabel, nil)
	descGateRunning = prometheus.NewDesc("gowsgi_python_running",
		"Requests running in Python now.", pidLabel, nil)
	descGateWaiting = prometheus.NewDesc("gowsgi_python_waiting",
		"Requests waiting now for the scheduler to let them into Python.", pidLabel, nil)
	descGateWaits = prometheus.NewDesc("gowsgi_python_waits_total",
		"Requests that waited for the scheduler to let them into Python.", pidLabel, nil)
	descGateWaited = prometheus.NewDesc("gowsgi_python_wait_seconds_total",
		"Time requests have waited for the scheduler to let them into Python, in all.", pidLabel, nil)
	descGILSamples = prometheus.NewDesc("gowsgi_python_gil_samples_total",
		"Looks the scheduler took at the GIL while requests contended for Python (every 200 µs).", pidLabel, nil)
	descGILBusy = prometheus.NewDesc("gowsgi_python_gil_busy_samples_total",
		"Of gowsgi_python_gil_samples_total, those that found the GIL held: their rate over the samples' is the GIL's busy fraction under contention.", pidLabel, nil)
	descThreadStates = prometheus.NewDesc("gowsgi_python_threads",
		"OS threads with a Python thread state for requests.", pidLabel, nil)

	descWorkers = prometheus.NewDesc("gowsgi_workers",
		"Worker processes the App runs (WithProcesses).", nil, nil)
	descDeaths = prometheus.NewDesc("gowsgi_worker_restarts_total",
		"Worker processes that died and were replaced.", nil, nil)
	descRecycles = prometheus.NewDesc("gowsgi_worker_recycles_total",
		"Worker processes replaced while still running: WithMaxRequests, WithMaxWorkerMemory, or a request stuck in C past its deadline (WithTimeout).", nil, nil)
	descWorkerRSS = prometheus.NewDesc("gowsgi_worker_resident_memory_bytes",
		"Resident memory of each live worker process.", []string{"pid"}, nil)
	descWorkerInFlight = prometheus.NewDesc("gowsgi_worker_requests_in_flight",
		"Requests in flight on each live worker process.", []string{"pid"}, nil)
)

// Describe sends the descriptions of the App's metrics
// (prometheus.Collector). Registering the App, which describes it, starts
// the counting of requests: an App never registered counts none and pays
// nothing for them. One registry takes one App; to register several, give
// each its labels with prometheus.WrapRegistererWith.
func (a *App) Describe(ch chan<- *prometheus.Desc) {
	a.metrics.init()
	a.metrics.on.Store(true)
	for _, d := range []*prometheus.Desc{descRequests, descBytes, descAborted, descInFlight, descSlotWaiting,
		descSlotWaited, descThreads} {
		ch <- d
	}
	a.metrics.duration.Describe(ch)
	if a.procs != nil {
		for _, d := range []*prometheus.Desc{descWorkers, descDeaths, descRecycles, descWorkerRSS, descWorkerInFlight} {
			ch <- d
		}
	}
	for _, d := range []*prometheus.Desc{descGateLimit, descGateRunning, descGateWaiting, descGateWaits,
		descGateWaited, descGILSamples, descGILBusy, descThreadStates} {
		ch <- d
	}
}

// Collect sends the App's metrics (prometheus.Collector): requests
// answered by method and status class, their duration, the requests in
// flight and waiting, and either the scheduler's state (an app in this
// process; the interpreter is the process's, shared by its Apps) or the
// worker processes' (WithProcesses).
func (a *App) Collect(ch chan<- prometheus.Metric) {
	m := &a.metrics
	m.init()
	m.on.Store(true)
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for i, method := range metricMethods {
		for j, class := range metricClasses {
			if n := m.requests[i][j].Load(); n > 0 {
				counter(descRequests, float64(n), method, class)
			}
		}
	}
	counter(descBytes, float64(m.bytes.Load()))
	counter(descAborted, float64(m.aborted.Load()))
	gauge(descInFlight, float64(a.inflight.Load())) // admit's count, kept for every request
	gauge(descSlotWaiting, float64(m.slotWaiting.Load()))
	counter(descSlotWaited, time.Duration(m.slotWaited.Load()).Seconds())
	gauge(descThreads, float64(a.opt.threads))
	m.duration.Collect(ch)
	if p := a.procs; p != nil {
		gauge(descWorkers, float64(a.Processes()))
		counter(descDeaths, float64(p.deaths.Load()))
		counter(descRecycles, float64(p.recycles.Load()))
		p.mu.Lock()
		live := make([]*worker, 0, len(p.live))
		for wk := range p.live {
			live = append(live, wk)
		}
		p.mu.Unlock()
		for _, wk := range live {
			pid := strconv.Itoa(wk.pid)
			gauge(descWorkerRSS, float64(residentMemory(wk.pid)), pid)
			gauge(descWorkerInFlight, float64(wk.inflight.Load()), pid)
		}
		for _, wg := range workersGate(live) {
			collectGate(ch, strconv.Itoa(wg.pid), wg.gate)
		}
		return
	}
	collectGate(ch, strconv.Itoa(os.Getpid()), workerGate{GateState: interp.Gate(), ThreadStates: interp.ThreadStates()})
}

// collectGate sends one interpreter's scheduler metrics, labelled pid.
func collectGate(ch chan<- prometheus.Metric, pid string, g workerGate) {
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, pid)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, pid)
	}
	gauge(descGateLimit, float64(g.Limit))
	gauge(descGateRunning, float64(g.Running))
	gauge(descGateWaiting, float64(g.Waiting))
	counter(descGateWaits, float64(g.Waits))
	counter(descGateWaited, g.Waited.Seconds())
	counter(descGILSamples, float64(g.GILSamples))
	counter(descGILBusy, float64(g.GILBusy))
	gauge(descThreadStates, float64(g.ThreadStates))
}

var _ prometheus.Collector = (*App)(nil)

// gateTimeout is how long a scrape waits for a worker's scheduler state.
const gateTimeout = time.Second

// gateMu makes one round of Gate questions at a time, so that each
// worker's answer is to the question just asked.
var gateMu sync.Mutex

// workersGate asks the serving workers among live for their scheduler's
// state, all at once; a worker that does not answer within gateTimeout is
// left out of this scrape.
func workersGate(live []*worker) []struct {
	pid  int
	gate workerGate
} {
	gateMu.Lock()
	defer gateMu.Unlock()
	type answer = struct {
		pid  int
		gate workerGate
	}
	answers := make([]answer, len(live))
	ok := make([]bool, len(live))
	var wg sync.WaitGroup
	for i, wk := range live {
		if wk.state.Load() != serving {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-wk.gate: // a late answer to an earlier scrape
			default:
			}
			wk.ctlMu.Lock()
			wk.ctl.Frame(wire.Gate)
			err := wk.ctl.Flush()
			wk.ctlMu.Unlock()
			if err != nil {
				return
			}
			select {
			case b := <-wk.gate:
				ok[i] = json.Unmarshal(b, &answers[i].gate) == nil
				answers[i].pid = wk.pid
			case <-wk.exitedCh:
			case <-time.After(gateTimeout):
			}
		}()
	}
	wg.Wait()
	out := answers[:0]
	for i := range answers {
		if ok[i] {
			out = append(out, answers[i])
		}
	}
	return out
}
