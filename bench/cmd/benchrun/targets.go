package main

import (
	"fmt"
	"slices"
	"strings"
)

// Target is one of the targets with what this run measured.
type Target struct {
	Name     string  `json:"name"`
	Want     string  `json:"want"`
	Measured string  `json:"measured"`
	Value    float64 `json:"value"`
	Pass     *bool   `json:"pass"` // nil: not measured in this run
}

func (t Target) verdict() string {
	switch {
	case t.Pass == nil:
		return "n/a"
	case *t.Pass:
		return "PASS"
	}
	return "MISS"
}

func (r *Results) workload(name string) *WorkloadResult {
	for _, w := range r.Workloads {
		if w.Name == name {
			return w
		}
	}
	return nil
}

func (r *Results) contender(name string) *contender {
	for _, c := range r.Contenders {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (w *WorkloadResult) cell(name string) *Cell {
	if w == nil {
		return nil
	}
	for _, c := range w.Cells {
		if c.Contender == name {
			return c
		}
	}
	return nil
}

// hasGo says whether the workload has a Go ceiling (results written before
// GoCeiling existed had one on every workload).
func (w *WorkloadResult) hasGo() bool { return w.GoCeiling || w.cell("go") != nil }

func ok(c *Cell) bool { return c != nil && c.Failed == "" && len(c.Rounds) > 0 }

func pass(b bool) *bool { return &b }

// sweepOf is the fixed --threads contenders that gowsgi's default is
// compared with on workload w.
func sweepOf(res *Results, w *WorkloadResult) []string {
	if w == nil {
		return nil
	}
	var out []string
	for _, c := range w.Cells {
		if k := res.contender(c.Contender); k != nil && k.Kind == "gowsgi" && strings.HasPrefix(c.Contender, "gowsgi-t") {
			out = append(out, c.Contender)
		}
	}
	return out
}

// vsBestOf is, for contender name on w, the median over rounds of its
// req/s divided by the best of others' in the same round, and the other
// with the highest median req/s.
func vsBestOf(w *WorkloadResult, name string, others []string) (float64, string) {
	c := w.cell(name)
	if !ok(c) {
		return 0, ""
	}
	var ratios []float64
	for _, rd := range c.Rounds {
		best := 0.0
		for _, o := range others {
			if oc := w.cell(o); ok(oc) {
				for _, ord := range oc.Rounds {
					if ord.Round == rd.Round {
						best = max(best, ord.RPS)
					}
				}
			}
		}
		if best > 0 {
			ratios = append(ratios, rd.RPS/best)
		}
	}
	bestName, bestRPS := "", 0.0
	for _, o := range others {
		if oc := w.cell(o); ok(oc) && oc.RPS > bestRPS {
			bestName, bestRPS = o, oc.RPS
		}
	}
	return median(ratios), bestName
}

// targets checks the targets against the run.
func targets(res *Results) []Target {
	var ts []Target
	add := func(t Target) { ts = append(ts, t) }

	// gowsgi against the best peer of its kind: one process against the
	// best single-process peer, --workers 2 against the best 2-process one.
	vsBest := func(wl, contender, what, kind string, want float64, best func(*WorkloadResult) string, ratio func(*Cell) float64) {
		w := res.workload(wl)
		g := w.cell(contender)
		t := Target{Name: fmt.Sprintf("%s, %s: ≥ %.1f× the best %s peer", wl, what, want, kind), Want: fmt.Sprintf("≥ %.2f×", want)}
		switch {
		case w == nil:
			t.Measured = "not run"
		case g == nil:
			t.Measured = contender + " not run"
		case !ok(g):
			t.Measured = contender + " did not run: " + firstLine(cellFailure(g))
			t.Pass = pass(false)
		case best(w) == "":
			t.Measured = "no " + kind + " peer ran"
		default:
			t.Value = ratio(g)
			t.Measured = fmt.Sprintf("%.2f× (%s %s req/s, %s %s req/s)", t.Value, contender, num(g.RPS), best(w), num(w.cell(best(w)).RPS))
			t.Pass = pass(t.Value >= want)
		}
		add(t)
	}
	vsSingle := func(wl string, want float64) {
		vsBest(wl, "gowsgi", "one process", "single-process", want, func(w *WorkloadResult) string { return w.BestSingle }, func(c *Cell) float64 { return c.VsBestSingle })
	}
	vsSingle("hello", 1.5)
	{
		w := res.workload("hello")
		g := w.cell("gowsgi")
		t := Target{Name: "hello, one process: ≥ 65% of the pure Go handler", Want: "≥ 0.65×"}
		switch {
		case w == nil:
			t.Measured = "not run"
		case !ok(g) || !ok(w.cell("go")):
			t.Measured = "gowsgi or go did not run"
			t.Pass = pass(false)
		default:
			t.Value = g.VsGo
			t.Measured = fmt.Sprintf("%.2f× (gowsgi %s req/s, go %s req/s)", g.VsGo, num(g.RPS), num(w.cell("go").RPS))
			t.Pass = pass(g.VsGo >= 0.65)
		}
		add(t)
	}
	vsSingle("echo", 1.5)
	vsSingle("stream", 1.3)
	vsSingle("flask_hello", 1.3)
	vsSingle("flask_json", 1.3)
	vsSingle("django", 1.3)

	vsTwo := func(wl string, want float64) {
		vsBest(wl, "gowsgi-w2", "--workers 2", "2-process", want, func(w *WorkloadResult) string { return w.BestTwo }, func(c *Cell) float64 { return c.VsBestTwo })
	}
	vsTwo("flask_hello", 1.2)
	vsTwo("flask_json", 1.2)
	vsTwo("django", 1.0)
	add(twoCoreTarget(res, "django", 0.85))
	// The same through the library in a Go program (issue 8's targets).
	vsLib := func(wl string, want float64) {
		vsBest(wl, "gowsgi-lib-p2", "library WithProcesses(2)", "2-process", want, func(w *WorkloadResult) string { return w.BestTwo }, func(c *Cell) float64 { return c.VsBestTwo })
	}
	vsLib("flask_hello", 1.2)
	vsLib("flask_json", 1.2)
	vsLib("django", 1.0)

	// The default --threads against the best fixed count.
	for _, wl := range threadSweep {
		w := res.workload(wl)
		t := Target{Name: fmt.Sprintf("%s: the default --threads within 10%% of the best fixed --threads", wl), Want: "≥ 0.90×"}
		sweep := sweepOf(res, w)
		g := w.cell("gowsgi")
		switch {
		case w == nil:
			t.Measured = "not run"
		case !ok(g):
			t.Measured = "gowsgi did not run: " + firstLine(cellFailure(g))
			t.Pass = pass(false)
		default:
			r, best := vsBestOf(w, "gowsgi", sweep)
			if best == "" {
				t.Measured = "no fixed --threads contender ran"
				break
			}
			t.Value = r
			t.Measured = fmt.Sprintf("%.2f× (gowsgi %s req/s, best %s %s req/s)", r, num(g.RPS), best, num(w.cell(best).RPS))
			t.Pass = pass(r >= 0.9)
		}
		add(t)
	}

	// Server CPU per request against the app's own.
	for _, wl := range []string{"django", "flask_hello", "flask_json"} {
		add(cpuTarget(res, wl))
	}

	ts = append(ts, fairnessTargets(res.Fairness)...)

	for _, w := range res.Workloads {
		if !w.hasGo() {
			continue
		}
		g, gc := w.cell("gowsgi"), w.cell("go")
		t := Target{Name: fmt.Sprintf("%s: p99 ≤ 1.5× the pure Go handler's p99", w.Name), Want: "≤ 1.50×"}
		if !ok(g) || !ok(gc) {
			t.Measured = "gowsgi or go did not run"
			t.Pass = pass(false)
		} else {
			t.Value = g.P99VsGo
			t.Measured = fmt.Sprintf("%.2f× (gowsgi %s ms, go %s ms)", g.P99VsGo, ms(g.P99ms), ms(gc.P99ms))
			t.Pass = pass(g.P99VsGo <= 1.5)
		}
		add(t)
	}
	add(errorsTarget(res))
	{
		t := Target{Name: "RSS of one gowsgi process < gunicorn's two sync workers together", Want: "< 1.00×"}
		var parts []string
		worst, fine, any := 0.0, true, false
		for _, w := range res.Workloads {
			g, gu := w.cell("gowsgi"), w.cell("gunicorn-sync-2")
			if !ok(g) || !ok(gu) || gu.WorkerRSSMiB == 0 {
				continue
			}
			any = true
			r := g.RSSMiB / gu.WorkerRSSMiB
			worst = max(worst, r)
			fine = fine && r < 1
			parts = append(parts, fmt.Sprintf("%s %.2f× (%.0f vs %.0f MiB)", w.Name, r, g.RSSMiB, gu.WorkerRSSMiB))
		}
		if any {
			t.Value = worst
			t.Measured = strings.Join(parts, "; ")
			t.Pass = pass(fine)
		} else {
			t.Measured = "gowsgi and gunicorn-sync-2 not both run"
		}
		add(t)
	}
	return ts
}

// twoCoreTarget: gowsgi --workers 2 reaches share of what two cores could
// do if a request cost only the view's own CPU (2 s of CPU per second ÷
// the app's CPU per request).
func twoCoreTarget(res *Results, wl string, share float64) Target {
	w := res.workload(wl)
	t := Target{Name: fmt.Sprintf("%s, --workers 2: ≥ %.0f%% of the two-core ceiling (2 cores ÷ the view's own CPU per request)", wl, share*100),
		Want: fmt.Sprintf("≥ %.2f×", share)}
	g := w.cell("gowsgi-w2")
	switch {
	case w == nil:
		t.Measured = "not run"
	case g == nil:
		t.Measured = "gowsgi-w2 not run"
	case !ok(g):
		t.Measured = "gowsgi-w2 did not run: " + firstLine(cellFailure(g))
		t.Pass = pass(false)
	case w.AppCPU == nil || w.AppCPU.Failed != "" || w.AppCPU.CPUus <= 0:
		t.Measured = "the app's own CPU was not measured"
	default:
		ceiling := 2e6 / w.AppCPU.CPUus
		t.Value = g.RPS / ceiling
		t.Measured = fmt.Sprintf("%.2f× (gowsgi-w2 %s req/s; ceiling 2 × 10⁶ ÷ %s µs = %s req/s)", t.Value, num(g.RPS), us(w.AppCPU.CPUus), num(ceiling))
		t.Pass = pass(t.Value >= share)
	}
	return t
}

// cpuTarget: gowsgi's server CPU per request on wl ≤ 1.25 × the app's own
// CPU per request + gowsgi's server CPU per request on hello (its fixed
// cost per request).
func cpuTarget(res *Results, wl string) Target {
	w, h := res.workload(wl), res.workload("hello")
	t := Target{Name: fmt.Sprintf("%s: gowsgi's CPU per request ≤ 1.25 × the app's own + gowsgi's on hello", wl), Want: "≤ 1.00×"}
	g, gh := w.cell("gowsgi"), h.cell("gowsgi")
	switch {
	case w == nil:
		t.Measured = "not run"
	case !ok(g):
		t.Measured = "gowsgi did not run: " + firstLine(cellFailure(g))
		t.Pass = pass(false)
	case w.AppCPU == nil || w.AppCPU.Failed != "" || w.AppCPU.CPUus <= 0:
		t.Measured = "the app's own CPU was not measured"
	case !ok(gh) || gh.CPUus <= 0:
		t.Measured = "gowsgi's CPU on hello was not measured (run hello too)"
	case g.CPUus <= 0:
		t.Measured = "gowsgi's CPU was not measured"
	default:
		limit := 1.25*w.AppCPU.CPUus + gh.CPUus
		t.Value = g.CPUus / limit
		t.Measured = fmt.Sprintf("%.2f× (gowsgi %s µs; limit 1.25 × %s + %s = %s µs)", t.Value, us(g.CPUus), us(w.AppCPU.CPUus), us(gh.CPUus), us(limit))
		t.Pass = pass(g.CPUus <= limit)
	}
	return t
}

// fairnessTargets: gowsgi answers a trivial request quickly while another
// computes, and at all while another never ends.
func fairnessTargets(f *Fairness) []Target {
	spin := Target{Name: "fairness: a trivial request while another computes for 2 s: p50 ≤ 50 ms, max ≤ 100 ms", Want: "≤ 50 / 100 ms"}
	loop := Target{Name: "fairness: behind an endless loop other requests are still answered", Want: fmt.Sprintf("%d/%d", foreverTries, foreverTries)}
	var r *FairResult
	if f != nil {
		for _, x := range f.Results {
			if x.Contender == "gowsgi" {
				r = x
			}
		}
	}
	switch {
	case r == nil:
		spin.Measured, loop.Measured = "not run", "not run"
	case r.Failed != "":
		spin.Measured = "gowsgi failed: " + firstLine(r.Failed)
		loop.Measured = spin.Measured
		spin.Pass, loop.Pass = pass(false), pass(false)
	default:
		spin.Value = r.MaxMs
		spin.Measured = fmt.Sprintf("p50 %s ms, max %s ms (gowsgi, %d requests, %d answered while the spin computed, %d errors)",
			ms(r.P50ms), ms(r.MaxMs), r.Requests, r.DuringSpin, r.Errors)
		spin.Pass = pass(r.P50ms <= 50 && r.MaxMs <= 100 && r.Errors == 0 && r.DuringSpin == r.Requests)
		loop.Value = float64(r.ForeverAnswered)
		loop.Measured = fmt.Sprintf("%d/%d answered (gowsgi)", r.ForeverAnswered, foreverTries)
		if r.ForeverAnswered > 0 {
			loop.Measured += fmt.Sprintf(", max %s ms", ms(r.ForeverMaxMs()))
		}
		if r.ForeverNote != "" {
			loop.Measured += "; " + r.ForeverNote
		}
		loop.Pass = pass(r.ForeverAnswered == foreverTries)
	}
	return []Target{spin, loop}
}

// errorsTarget: no wrk errors for any gowsgi contender on any workload.
func errorsTarget(res *Results) Target {
	t := Target{Name: "zero wrk errors for gowsgi (every gowsgi contender)", Want: "0"}
	var parts []string
	all, total, any := true, int64(0), false
	for _, w := range res.Workloads {
		g := w.cell("gowsgi")
		if !ok(g) {
			all = false
			parts = append(parts, w.Name+" did not run")
			continue
		}
		any = true
		sum := int64(0)
		var others []string
		for _, c := range w.Cells {
			if k := res.contender(c.Contender); k == nil || k.Kind != "gowsgi" || !ok(c) {
				continue
			}
			sum += c.Errors
			if c.Contender != "gowsgi" && c.Errors > 0 {
				others = append(others, fmt.Sprintf("%s %d", c.Contender, c.Errors))
			}
		}
		total += sum
		p := fmt.Sprintf("%s %d", w.Name, sum)
		if len(others) > 0 {
			slices.Sort(others)
			p += " (" + strings.Join(others, ", ") + ")"
		}
		parts = append(parts, p)
	}
	t.Value = float64(total)
	t.Measured = strings.Join(parts, ", ")
	if any || len(parts) > 0 {
		t.Pass = pass(all && total == 0)
	}
	return t
}
