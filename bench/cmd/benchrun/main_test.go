package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{0, 5, 7}, 6}, // zeros are "not measured"
	} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestNum(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", 62416.6: "62,417"} {
		if got := num(in); got != want {
			t.Errorf("num(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestWrkDuration(t *testing.T) {
	for in, want := range map[string]string{"1s": "1s", "1500ms": "2s", "0s": "1s", "3s": "3s"} {
		d, _ := parseDur(in)
		if got := wrkDuration(d); got != want {
			t.Errorf("wrkDuration(%s) = %s, want %s", in, got, want)
		}
	}
}

// Ratios are taken within a round, then the median over rounds.
func TestSummarize(t *testing.T) {
	cs := contenders()
	wr := &WorkloadResult{Name: "hello"}
	rounds := map[string][]float64{
		"go":              {100, 50, 80},
		"gowsgi":          {70, 30, 60},
		"uwsgi-1p4t":      {40, 20, 50},
		"waitress-4t":     {10, 25, 5},
		"gunicorn-sync-2": {60, 60, 60},
	}
	for _, c := range cs {
		cell := &Cell{Contender: c.Name}
		for i, rps := range rounds[c.Name] {
			cell.Rounds = append(cell.Rounds, Round{Round: i + 1, RPS: rps, P99ms: rps / 10})
		}
		wr.Cells = append(wr.Cells, cell)
	}
	summarize(wr, cs)
	g := wr.cell("gowsgi")
	// Best single-process peer per round: 40, 25, 50 → 1.75, 1.2, 1.2.
	if math.Abs(g.VsBestSingle-1.2) > 1e-9 {
		t.Errorf("VsBestSingle = %v, want 1.2", g.VsBestSingle)
	}
	// vs Go: 0.7, 0.6, 0.75 → 0.7.
	if math.Abs(g.VsGo-0.7) > 1e-9 {
		t.Errorf("VsGo = %v, want 0.7", g.VsGo)
	}
	// Best peer of all per round: 60, 60, 60 → 70/60, 0.5, 1.0 → 1.0.
	if math.Abs(g.VsBestPeer-1.0) > 1e-9 {
		t.Errorf("VsBestPeer = %v, want 1", g.VsBestPeer)
	}
	if g.RPS != 60 {
		t.Errorf("RPS = %v, want the median 60", g.RPS)
	}
	if wr.BestSingle != "uwsgi-1p4t" || wr.BestPeer != "gunicorn-sync-2" || wr.BestTwo != "gunicorn-sync-2" {
		t.Errorf("best = %q, %q, %q", wr.BestSingle, wr.BestPeer, wr.BestTwo)
	}
	// vs the best 2-process peer (gunicorn-sync-2, 60 every round): 70/60, 0.5, 1.0 → 1.0.
	if math.Abs(g.VsBestTwo-1.0) > 1e-9 {
		t.Errorf("VsBestTwo = %v, want 1", g.VsBestTwo)
	}
	// Cells without rounds (failed) have no ratios.
	if c := wr.cell("gunicorn-sync-1"); c.VsGo != 0 || c.RPS != 0 {
		t.Errorf("empty cell got figures: %+v", c)
	}
}

func TestEmbed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	orig := "# x\nProse names `" + beginMark + "` and `" + endMark + "`.\n\n" + beginMark + "\nold\n" + endMark + "\ntail\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := embed(path, "new table\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "# x\nProse names `" + beginMark + "` and `" + endMark + "`.\n\n" + beginMark + "\nnew table\n" + endMark + "\ntail\n"
	if string(b) != want {
		t.Errorf("got:\n%s\nwant:\n%s", b, want)
	}
	// No markers: untouched.
	plain := filepath.Join(t.TempDir(), "plain.md")
	os.WriteFile(plain, []byte("nothing\n"), 0o644)
	if err := embed(plain, "x"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(plain); string(b) != "nothing\n" {
		t.Errorf("file without markers changed: %q", b)
	}
}

func TestMarkdownAndChartRender(t *testing.T) {
	res := &Results{Date: "2026-01-02T03:04:05Z", Settings: Settings{WrkThreads: 2, Connections: 64, DurationSecs: 3, Rounds: 3, GowsgiThreads: 32},
		Contenders: contenders()}
	wr := &WorkloadResult{Name: "hello", Label: "plain WSGI hello"}
	for _, c := range runners(res.Contenders, workloads()[0]) {
		cell := &Cell{Contender: c.Name, Rounds: []Round{{Round: 1, RPS: 1000, P99ms: 1, CPUus: 30}}}
		if c.Name == "waitress-4t" {
			cell = &Cell{Contender: c.Name, Failed: "wrong answer to GET: body \"x\""}
		}
		wr.Cells = append(wr.Cells, cell)
	}
	summarize(wr, res.Contenders)
	res.Workloads = []*WorkloadResult{wr}
	res.Targets = targets(res)
	md := markdown(res, 2, "latest.svg")
	for _, want := range []string{"### hello", "| **gowsgi** | 1,000 |", "failed: wrong answer", "| hello, one process: ≥ 1.5× the best single-process peer | ≥ 1.50× | 1.00×",
		"| 30.0 |", "| MISS |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	svg := string(chart(res))
	if !strings.HasPrefix(svg, "<svg") || !strings.HasSuffix(svg, "</svg>\n") || strings.Count(svg, "<rect") < 8 {
		t.Errorf("chart looks wrong:\n%s", svg)
	}
}

func parseDur(s string) (d time.Duration, err error) { return time.ParseDuration(s) }

func TestUserArgs(t *testing.T) {
	got := userArgs([]string{"--bench-dir", "/x/bench", "--gowsgi=/x/g", "--goserver", "/x/s", "--quick", "--workloads", "hello"})
	if want := "bench/run.sh --quick --workloads hello"; got != want {
		t.Errorf("userArgs = %q, want %q", got, want)
	}
}

func TestWantFairness(t *testing.T) {
	for _, c := range []struct {
		in, rest string
		fair     bool
	}{
		{"", "", true},
		{"fairness", "-", true},
		{"hello,fairness,echo", "hello,echo", true},
		{"hello,echo", "hello,echo", false},
	} {
		rest, fair := wantFairness(c.in)
		if rest != c.rest || fair != c.fair {
			t.Errorf("wantFairness(%q) = %q, %v; want %q, %v", c.in, rest, fair, c.rest, c.fair)
		}
	}
}

// The ceiling runs only where bench/goserver has an equivalent, the fixed
// --threads contenders only on the thread sweep's workloads.
func TestRunners(t *testing.T) {
	byName := map[string]*workload{}
	for _, w := range workloads() {
		byName[w.Name] = w
	}
	names := func(w string) string {
		var out []string
		for _, c := range runners(contenders(), byName[w]) {
			out = append(out, c.Name)
		}
		return strings.Join(out, ",")
	}
	for w, want := range map[string]string{
		"hello":   "go,gowsgi,gowsgi-w2,gowsgi-lib-p2,gunicorn-sync-1,gunicorn-sync-2,gunicorn-gthread-2x4,uwsgi-1p4t,uwsgi-2p,waitress-4t,modwsgi-2x4",
		"django":  "gowsgi,gowsgi-w2,gowsgi-lib-p2,gunicorn-sync-1,gunicorn-sync-2,gunicorn-gthread-2x4,uwsgi-1p4t,uwsgi-2p,waitress-4t,modwsgi-2x4",
		"mixed":   "gowsgi,gowsgi-w2,gowsgi-t1,gowsgi-t4,gowsgi-t8,gowsgi-t32,gunicorn-sync-1,gunicorn-sync-2,gunicorn-gthread-2x4,uwsgi-1p4t,uwsgi-2p,waitress-4t,modwsgi-2x4",
		"iobound": "go,gowsgi,gowsgi-w2,gowsgi-t1,gowsgi-t4,gowsgi-t8,gowsgi-t32,gunicorn-sync-1,gunicorn-sync-2,gunicorn-gthread-2x4,uwsgi-1p4t,uwsgi-2p,waitress-4t,modwsgi-2x4",
	} {
		if got := names(w); got != want {
			t.Errorf("%s runs\n  %s\nwant\n  %s", w, got, want)
		}
	}
}

// The full run, with its default settings, fits the 15-minute budget with
// room for the builds.
func TestFullRunEstimate(t *testing.T) {
	fair := 0
	for _, c := range contenders() {
		if c.Fairness {
			fair++
		}
	}
	st := Settings{DurationSecs: 2, WarmupSecs: 1, Rounds: 2, AppCPUSecs: 0.5}
	est := estimate(workloads(), contenders(), fair, st)
	t.Logf("full run estimate: %.1f min", est/60)
	if est > 13.5*60 {
		t.Errorf("the full run is estimated at %.1f min: over 13.5 (15 with the builds)", est/60)
	}
}
