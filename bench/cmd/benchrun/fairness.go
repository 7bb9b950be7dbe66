package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The fairness figure: how long a trivial request waits while another
// request computes in pure Python, and whether one is answered at all while
// another never ends. bench/apps/fair.py serves /hello, /spin?secs=S and
// /forever.
const (
	fairSpin     = 2 * time.Second        // the computing request's length
	fairDelay    = 100 * time.Millisecond // before the first trivial request
	fairWindow   = 1500 * time.Millisecond
	fairTimeout  = 5 * time.Second // a trivial request's client timeout
	foreverTries = 5
)

// Fairness is the fairness figure of a run.
type Fairness struct {
	SpinSecs    float64       `json:"spin_s"`
	DelayMs     float64       `json:"delay_ms"`
	WindowSecs  float64       `json:"window_s"`
	TimeoutSecs float64       `json:"timeout_s"`
	Results     []*FairResult `json:"results"`
}

// FairResult is one contender's fairness figures.
type FairResult struct {
	Contender string `json:"contender"`
	Failed    string `json:"failed,omitempty"`

	// Trivial requests sent one after another while /spin computes.
	Requests   int     `json:"requests"` // answered
	Errors     int     `json:"errors"`   // failed or timed out
	P50ms      float64 `json:"p50_ms"`
	P90ms      float64 `json:"p90_ms"`
	MaxMs      float64 `json:"max_ms"`
	DuringSpin int     `json:"during_spin"` // answered before the spin's loop ended
	SpinSecs   float64 `json:"spin_s"`      // the spin request's latency
	SpinErr    string  `json:"spin_error,omitempty"`

	// Trivial requests sent one after another behind a /forever request.
	ForeverTried    int       `json:"forever_tried"`
	ForeverAnswered int       `json:"forever_answered"`
	ForeverMs       []float64 `json:"forever_ms"`
	ForeverNote     string    `json:"forever_note,omitempty"`
}

// ForeverMaxMs is the slowest answered request behind /forever.
func (f *FairResult) ForeverMaxMs() float64 {
	if len(f.ForeverMs) == 0 {
		return 0
	}
	return slices.Max(f.ForeverMs)
}

// fairWorkload is the app of the fairness figure; its check is /hello.
func fairWorkload() *workload {
	return &workload{Name: "fairness", Label: "fairness probe", Module: "fair:app", Method: "GET",
		Paths: []string{"/hello"}, check: text("hello")}
}

// runFairness measures every contender that has Fairness set: each is
// started, checked, probed, and then killed (a /forever request never
// ends), one at a time.
func runFairness(e *env, cs []*contender, tmp string) *Fairness {
	w := fairWorkload()
	fmt.Printf("\n== fairness: /hello while /spin?secs=%g computes, then behind /forever (%s)\n", fairSpin.Seconds(), w.Module)
	f := &Fairness{SpinSecs: fairSpin.Seconds(), DelayMs: float64(fairDelay.Milliseconds()),
		WindowSecs: fairWindow.Seconds(), TimeoutSecs: fairTimeout.Seconds()}
	servers := make([]*server, len(cs))
	for i, c := range cs {
		f.Results = append(f.Results, &FairResult{Contender: c.Name})
		s, err := start(e, c, w, tmp)
		if err != nil {
			f.Results[i].Failed = "could not start: " + err.Error()
			continue
		}
		track(s)
		servers[i] = s
	}
	for i, s := range servers {
		r := f.Results[i]
		if s == nil {
			fmt.Printf("   %-20s FAILED: %s\n", cs[i].Name, r.Failed)
			continue
		}
		if err := s.ready(w, 30*time.Second); err != nil {
			r.Failed = err.Error()
		} else {
			fairOne(s.url, r)
		}
		s.kill()
		untrack(s)
		if r.Failed != "" {
			fmt.Printf("   %-20s FAILED: %s\n", cs[i].Name, firstLine(r.Failed))
			continue
		}
		fmt.Printf("   %-20s %4d requests during the spin: p50 %7.2f ms  max %7.1f ms  %d answered while it ran (spin %.2f s); behind /forever %d/%d answered\n",
			cs[i].Name, r.Requests, r.P50ms, r.MaxMs, r.DuringSpin, r.SpinSecs, r.ForeverAnswered, foreverTries)
	}
	return f
}

// fairOne probes one server at base (http://host:port/) and fills r.
func fairOne(base string, r *FairResult) {
	// A fresh connection for every trivial request: requests from many
	// clients, which a multi-process server spreads over its processes.
	probe := &http.Client{Timeout: fairTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	long := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer probe.CloseIdleConnections()

	type done struct {
		at      time.Time // the answer's arrival
		loopEnd time.Time // the end of the loop, as the app saw it
		err     error
	}
	spun := make(chan done, 1)
	t0 := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), fairSpin+30*time.Second)
		defer cancel()
		body, err := getBody(ctx, long, fmt.Sprintf("%sspin?secs=%g", base, fairSpin.Seconds()), "spun ")
		d := done{at: time.Now(), err: err}
		if err == nil {
			d.loopEnd, d.err = spinEnd(body)
		}
		spun <- d
	}()
	time.Sleep(fairDelay)
	var lat []float64
	var ends []time.Time
	for time.Since(t0) < fairDelay+fairWindow {
		start := time.Now()
		err := get(context.Background(), probe, base+"hello", "hello")
		end := time.Now()
		if err != nil {
			r.Errors++
			time.Sleep(10 * time.Millisecond)
			continue
		}
		lat = append(lat, float64(end.Sub(start))/float64(time.Millisecond))
		ends = append(ends, end)
	}
	var sd done
	select {
	case sd = <-spun:
	case <-time.After(fairSpin + 30*time.Second):
		sd = done{at: time.Now(), err: errors.New("no answer")}
	}
	r.SpinSecs = sd.at.Sub(t0).Seconds()
	if sd.err != nil {
		r.SpinErr = sd.err.Error()
	}
	r.Requests = len(lat)
	r.DuringSpin = duringSpin(ends, sd.loopEnd)
	r.P50ms, r.P90ms, r.MaxMs = percentile(lat, 50), percentile(lat, 90), percentile(lat, 100)
	if r.Requests == 0 {
		r.Failed = fmt.Sprintf("no trivial request answered during the spin (%d errors)", r.Errors)
		return
	}

	// Behind an endless loop.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go get(ctx, long, base+"forever", "")
	time.Sleep(fairDelay)
	for i := 0; i < foreverTries; i++ {
		r.ForeverTried++
		start := time.Now()
		if err := get(context.Background(), probe, base+"hello", "hello"); err != nil {
			if i+1 < foreverTries {
				r.ForeverNote = fmt.Sprintf("request %d: %v; the other %d not sent", i+1, shortErr(err), foreverTries-i-1)
			} else {
				r.ForeverNote = fmt.Sprintf("request %d: %v", i+1, shortErr(err))
			}
			break
		}
		r.ForeverAnswered++
		r.ForeverMs = append(r.ForeverMs, float64(time.Since(start))/float64(time.Millisecond))
	}
}

// get sends GET url and checks for a 200 whose body starts with prefix.
func get(ctx context.Context, c *http.Client, url, prefix string) error {
	_, err := getBody(ctx, c, url, prefix)
	return err
}

func getBody(ctx context.Context, c *http.Client, url, prefix string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), prefix) {
		return nil, fmt.Errorf("status %s, body %s", resp.Status, quote(b))
	}
	return b, nil
}

// spinEnd reads the end of the spin's loop from its answer, "spun N T" with
// T the Unix time in seconds (the same clock as time.Now's wall clock, on
// the same machine).
func spinEnd(body []byte) (time.Time, error) {
	f := strings.Fields(string(body))
	if len(f) != 3 || f[0] != "spun" {
		return time.Time{}, fmt.Errorf("spin answered %s, want \"spun N T\"", quote(body))
	}
	t, err := strconv.ParseFloat(f[2], 64)
	if err != nil || t <= 0 {
		return time.Time{}, fmt.Errorf("spin answered %s: bad time", quote(body))
	}
	sec, frac := math.Modf(t)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// shortErr says "timed out after 5s" for a client timeout, else err.
func shortErr(err error) string {
	var t interface{ Timeout() bool }
	if errors.As(err, &t) && t.Timeout() {
		return fmt.Sprintf("no answer within %s", fairTimeout)
	}
	return err.Error()
}

// duringSpin counts the answers that arrived before the spin's loop ended
// (none when that end is unknown).
func duringSpin(ends []time.Time, spinEnd time.Time) int {
	n := 0
	for _, t := range ends {
		if t.Before(spinEnd) {
			n++
		}
	}
	return n
}

// percentile is the p-th percentile of xs (nearest rank; 100 is the
// maximum), 0 for none.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}
