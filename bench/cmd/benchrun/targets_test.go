package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

// result builds a one-round-per-value workload: rps[name] lists req/s by
// round.
func result(name string, goCeiling bool, rps map[string][]float64, cpu map[string]float64) *WorkloadResult {
	cs := contenders()
	wr := &WorkloadResult{Name: name, GoCeiling: goCeiling}
	for _, c := range cs {
		rs, found := rps[c.Name]
		if !found {
			continue
		}
		cell := &Cell{Contender: c.Name}
		for i, v := range rs {
			cell.Rounds = append(cell.Rounds, Round{Round: i + 1, RPS: v, P99ms: 10, CPUus: cpu[c.Name]})
		}
		wr.Cells = append(wr.Cells, cell)
	}
	summarize(wr, cs)
	return wr
}

func findTarget(t *testing.T, ts []Target, prefix string) Target {
	t.Helper()
	for _, x := range ts {
		if strings.HasPrefix(x.Name, prefix) {
			return x
		}
	}
	t.Fatalf("no target %q among %d", prefix, len(ts))
	return Target{}
}

func TestTargetsWithoutCeiling(t *testing.T) {
	res := &Results{Contenders: contenders(), Settings: Settings{GowsgiThreads: 32, Connections: 64}}
	django := result("django", false, map[string][]float64{
		"gowsgi": {260, 280}, "gowsgi-w2": {500, 520}, "uwsgi-1p4t": {200, 200}, "gunicorn-sync-2": {480, 540},
	}, map[string]float64{"gowsgi": 3000})
	django.AppCPU = &AppCPU{Calls: 100, CPUus: 2000}
	hello := result("hello", true, map[string][]float64{"go": {50000}, "gowsgi": {30000}, "uwsgi-1p4t": {20000}},
		map[string]float64{"gowsgi": 30})
	res.Workloads = []*WorkloadResult{hello, django}
	ts := targets(res)

	for _, x := range ts {
		if strings.HasPrefix(x.Name, "django: p99") {
			t.Errorf("a p99 target for a workload without a Go ceiling: %+v", x)
		}
	}
	if x := findTarget(t, ts, "hello: p99"); x.verdict() != "PASS" {
		t.Errorf("hello p99: %+v", x)
	}
	// Per round 260/200, 280/200 → median 1.35.
	if x := findTarget(t, ts, "django, one process"); x.verdict() != "PASS" || math.Abs(x.Value-1.35) > 1e-9 {
		t.Errorf("django vs single: %+v", x)
	}
	// 500/480, 520/540 → median (1.0417 + 0.963) / 2 = 1.0023.
	if x := findTarget(t, ts, "django, --workers 2: ≥ 1.0×"); x.verdict() != "PASS" || math.Abs(x.Value-(500.0/480+520.0/540)/2) > 1e-9 {
		t.Errorf("django vs 2-process: %+v", x)
	}
	// Ceiling 2e6 / 2000 µs = 1000 req/s; gowsgi-w2's median is 510.
	if x := findTarget(t, ts, "django, --workers 2: ≥ 85%"); x.verdict() != "MISS" || math.Abs(x.Value-0.51) > 1e-9 {
		t.Errorf("django two-core ceiling: %+v", x)
	}
	// Limit 1.25 × 2000 + 30 = 2530 µs; gowsgi used 3000.
	if x := findTarget(t, ts, "django: gowsgi's CPU"); x.verdict() != "MISS" || math.Abs(x.Value-3000.0/2530) > 1e-9 {
		t.Errorf("django CPU: %+v", x)
	}
	// Workloads not run are "n/a", not a miss.
	for _, p := range []string{"flask_hello, one process", "flask_json, --workers 2", "mixed: the default", "flask_json: gowsgi's CPU", "fairness: a trivial"} {
		if x := findTarget(t, ts, p); x.Pass != nil {
			t.Errorf("%s: %+v, want n/a", p, x)
		}
	}
	md := markdown(res, 2, "x.svg")
	for _, want := range []string{"No Go ceiling", "The app's own CPU: **2,000 µs per request**", "| 3,000 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if svg := string(chart(res)); !strings.Contains(svg, "no Go ceiling") {
		t.Errorf("the chart does not say django has no Go ceiling")
	}
}

func TestCPUTargetNeedsHello(t *testing.T) {
	res := &Results{Contenders: contenders()}
	fj := result("flask_json", true, map[string][]float64{"gowsgi": {3000}}, map[string]float64{"gowsgi": 150})
	fj.AppCPU = &AppCPU{Calls: 10, CPUus: 100}
	res.Workloads = []*WorkloadResult{fj}
	if x := cpuTarget(res, "flask_json"); x.Pass != nil || !strings.Contains(x.Measured, "hello") {
		t.Errorf("without hello: %+v", x)
	}
	res.Workloads = append(res.Workloads, result("hello", true, map[string][]float64{"gowsgi": {30000}}, map[string]float64{"gowsgi": 20}))
	// 150 ≤ 1.25 × 100 + 20 = 145? No.
	if x := cpuTarget(res, "flask_json"); x.verdict() != "MISS" {
		t.Errorf("150 µs against 145: %+v", x)
	}
	fj.AppCPU.CPUus = 120 // limit 170
	if x := cpuTarget(res, "flask_json"); x.verdict() != "PASS" {
		t.Errorf("150 µs against 170: %+v", x)
	}
	fj.AppCPU = &AppCPU{Failed: "import error"}
	if x := cpuTarget(res, "flask_json"); x.Pass != nil {
		t.Errorf("app CPU failed: %+v", x)
	}
}

// The default --threads is compared with the best fixed count of the same
// round.
func TestThreadSweepTarget(t *testing.T) {
	res := &Results{Contenders: contenders()}
	res.Workloads = []*WorkloadResult{result("iobound", true, map[string][]float64{
		"go": {20000, 20000}, "gowsgi": {9000, 10000}, "gowsgi-t1": {500, 500}, "gowsgi-t4": {2000, 2000}, "gowsgi-t32": {10000, 9000},
	}, nil)}
	x := findTarget(t, targets(res), "iobound: the default")
	// Round 1: 9000/10000 = 0.9; round 2: 10000/9000 → median 1.0056.
	if want := (0.9 + 10000.0/9000) / 2; math.Abs(x.Value-want) > 1e-9 || x.verdict() != "PASS" {
		t.Errorf("iobound sweep: %+v, want %v", x, want)
	}
	if !strings.Contains(x.Measured, "gowsgi-t32") {
		t.Errorf("best fixed count not named: %s", x.Measured)
	}
	if x := findTarget(t, targets(res), "mixed: the default"); x.Pass != nil {
		t.Errorf("mixed not run: %+v", x)
	}
}

func TestFairnessTargets(t *testing.T) {
	for _, c := range []struct {
		name       string
		f          *Fairness
		spin, loop string
	}{
		{"not run", nil, "n/a", "n/a"},
		{"fair", &Fairness{Results: []*FairResult{{Contender: "gowsgi", Requests: 200, DuringSpin: 200, P50ms: 6, MaxMs: 20,
			ForeverTried: 5, ForeverAnswered: 5, ForeverMs: []float64{5, 6, 7, 8, 9}}}}, "PASS", "PASS"},
		{"starved", &Fairness{Results: []*FairResult{{Contender: "gowsgi", Requests: 1, DuringSpin: 0, P50ms: 1900, MaxMs: 1900,
			ForeverTried: 1, ForeverNote: "request 1: no answer within 5s"}}}, "MISS", "MISS"},
		// Quick answers that came after the spin ended do not count as fair.
		{"after the spin", &Fairness{Results: []*FairResult{{Contender: "gowsgi", Requests: 10, DuringSpin: 3, P50ms: 2, MaxMs: 3,
			ForeverTried: 5, ForeverAnswered: 5}}}, "MISS", "PASS"},
		{"failed", &Fairness{Results: []*FairResult{{Contender: "gowsgi", Failed: "could not start"}}}, "MISS", "MISS"},
		{"other contenders only", &Fairness{Results: []*FairResult{{Contender: "uwsgi-1p4t", Requests: 9, DuringSpin: 9}}}, "n/a", "n/a"},
	} {
		ts := fairnessTargets(c.f)
		if ts[0].verdict() != c.spin || ts[1].verdict() != c.loop {
			t.Errorf("%s: %s / %s, want %s / %s (%s; %s)", c.name, ts[0].verdict(), ts[1].verdict(), c.spin, c.loop, ts[0].Measured, ts[1].Measured)
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for p, want := range map[float64]float64{50: 3, 90: 5, 100: 5, 20: 1, 0: 1} {
		if got := percentile(xs, p); got != want {
			t.Errorf("percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
}

func TestSpinEnd(t *testing.T) {
	at, err := spinEnd([]byte("spun 123456 1764680000.250000"))
	if err != nil || at.Unix() != 1764680000 || math.Abs(float64(at.Nanosecond())-250e6) > 1e3 {
		t.Errorf("spinEnd = %v, %v", at, err)
	}
	for _, bad := range []string{"spun 12", "hello", "spun 1 x", "spun 1 -3"} {
		if _, err := spinEnd([]byte(bad)); err == nil {
			t.Errorf("spinEnd(%q) took it", bad)
		}
	}
	end := time.Unix(100, 0)
	ends := []time.Time{time.Unix(99, 0), time.Unix(99, 999), end, time.Unix(101, 0)}
	if n := duringSpin(ends, end); n != 2 {
		t.Errorf("duringSpin = %d, want 2", n)
	}
	if n := duringSpin(ends, time.Time{}); n != 0 {
		t.Errorf("duringSpin with no end = %d, want 0", n)
	}
}
