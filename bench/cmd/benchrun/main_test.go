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
	if wr.BestSingle != "uwsgi-1p4t" || wr.BestPeer != "gunicorn-sync-2" {
		t.Errorf("best = %q, %q", wr.BestSingle, wr.BestPeer)
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
	for _, c := range res.Contenders {
		cell := &Cell{Contender: c.Name, Rounds: []Round{{Round: 1, RPS: 1000, P99ms: 1}}}
		if c.Name == "waitress-4t" {
			cell = &Cell{Contender: c.Name, Failed: "wrong answer to GET: body \"x\""}
		}
		wr.Cells = append(wr.Cells, cell)
	}
	summarize(wr, res.Contenders)
	res.Workloads = []*WorkloadResult{wr}
	res.Targets = targets(res)
	md := markdown(res, 2, "latest.svg")
	for _, want := range []string{"### hello", "| **gowsgi** | 1,000 |", "failed: wrong answer", "| hello, one process: ≥ 1.5× the best single-process peer | ≥ 1.50× | 1.00×"} {
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
