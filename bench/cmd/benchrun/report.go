package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
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
	return "FAIL"
}

func (r *Results) workload(name string) *WorkloadResult {
	for _, w := range r.Workloads {
		if w.Name == name {
			return w
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

func ok(c *Cell) bool { return c != nil && c.Failed == "" && len(c.Rounds) > 0 }

func pass(b bool) *bool { return &b }

// targets checks the targets against the run.
func targets(res *Results) []Target {
	var ts []Target
	vsPeer := func(wl string, want float64) {
		w := res.workload(wl)
		t := Target{Name: fmt.Sprintf("%s, one process: ≥ %.1f× the best single-process peer", wl, want), Want: fmt.Sprintf("≥ %.2f×", want)}
		g := w.cell("gowsgi")
		switch {
		case w == nil:
			t.Measured = "not run"
		case !ok(g):
			t.Measured = "gowsgi did not run: " + firstLine(cellFailure(g))
			t.Pass = pass(false)
		case w.BestSingle == "":
			t.Measured = "no single-process peer ran"
		default:
			t.Value = g.VsBestSingle
			t.Measured = fmt.Sprintf("%.2f× (gowsgi %s req/s, %s %s req/s)", g.VsBestSingle, num(g.RPS), w.BestSingle, num(w.cell(w.BestSingle).RPS))
			t.Pass = pass(g.VsBestSingle >= want)
		}
		ts = append(ts, t)
	}
	vsPeer("hello", 1.5)
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
		ts = append(ts, t)
	}
	vsPeer("echo", 1.5)
	vsPeer("flask_hello", 1.3)
	vsPeer("flask_json", 1.3)
	vsPeer("stream", 1.3)
	{
		w := res.workload("iobound")
		g := w.cell("gowsgi")
		n := min(res.Settings.GowsgiThreads, res.Settings.Connections)
		want := 0.8 * float64(n) / 0.002
		t := Target{Name: fmt.Sprintf("iobound: --threads %d is not the bottleneck (≥ 0.8 × %d / 2 ms)", res.Settings.GowsgiThreads, n),
			Want: fmt.Sprintf("≥ %s req/s", num(want))}
		switch {
		case w == nil:
			t.Measured = "not run"
		case n == 0:
			t.Measured = "gowsgi's thread count is unknown"
		case !ok(g):
			t.Measured = "gowsgi did not run"
			t.Pass = pass(false)
		default:
			t.Value = g.RPS / want
			t.Measured = fmt.Sprintf("%s req/s = %.2f× the target", num(g.RPS), g.RPS/want)
			t.Pass = pass(g.RPS >= want)
		}
		ts = append(ts, t)
	}
	for _, w := range res.Workloads {
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
		ts = append(ts, t)
	}
	{
		t := Target{Name: "zero wrk errors for gowsgi", Want: "0"}
		var parts []string
		all, total := true, int64(0)
		for _, w := range res.Workloads {
			g := w.cell("gowsgi")
			if !ok(g) {
				all = false
				parts = append(parts, w.Name+" did not run")
				continue
			}
			total += g.Errors
			parts = append(parts, fmt.Sprintf("%s %d", w.Name, g.Errors))
		}
		t.Value = float64(total)
		t.Measured = strings.Join(parts, ", ")
		if len(parts) > 0 {
			t.Pass = pass(all && total == 0)
		}
		ts = append(ts, t)
	}
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
		ts = append(ts, t)
	}
	return ts
}

func cellFailure(c *Cell) string {
	if c == nil {
		return "not run"
	}
	if c.Failed != "" {
		return c.Failed
	}
	return "no measurement"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// num formats a count with thousands separators.
func num(f float64) string {
	n := int64(math.Round(f))
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ms(f float64) string {
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.2f", f)
}

func x(f float64) string {
	if f == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", f)
}

// markdown renders the report. level is the heading level of its sections;
// img is the chart's path from the file the text goes into.
func markdown(res *Results, level int, img string) string {
	var b bytes.Buffer
	h := strings.Repeat("#", level)
	st, m := res.Settings, res.Machine
	date, _ := time.Parse(time.RFC3339, res.Date)
	fmt.Fprintf(&b, "Run %s on **%d × %s**, %.0f GiB, %s, Linux %s; %s (Debian), %s; gowsgi at commit %s.\n",
		date.Format("2006-01-02 15:04 MST"), m.NProc, m.CPU, m.MemTotalGiB, m.OS, m.Kernel, m.Python, m.Go, orDash(m.Commit))
	fmt.Fprintf(&b, "Peers from Debian packages: gunicorn %s, uWSGI %s, waitress %s, Flask %s; wrk %s. Load average at start %s, at end %s.\n\n",
		m.Packages["gunicorn"], m.Packages["uwsgi-core"], m.Packages["python3-waitress"], m.Packages["python3-flask"], m.Packages["wrk"],
		m.LoadAvgStart, m.LoadAvgEnd)
	threads := fmt.Sprintf("--threads %d", st.GowsgiThreads)
	if st.ThreadsDefault {
		threads += " (its default)"
	}
	fmt.Fprintf(&b, "Load: `wrk -t%d -c%d --timeout %gs` on 127.0.0.1, keep-alive; %g s measured after a %g s warm-up (discarded), %d round(s) with the contenders' order rotated each round; figures are medians over rounds, ratios are taken within each round (same minutes, same noise) and then the median. gowsgi runs %s. The run took %.1f min.\n\n",
		st.WrkThreads, st.Connections, st.TimeoutSecs, st.DurationSecs, st.WarmupSecs, st.Rounds, threads, res.ElapsedSecs/60)
	if st.Quick || st.Rounds < 3 {
		fmt.Fprintf(&b, "> **Short run** (`%s`): a smoke test; the numbers are rough.\n\n", st.Command)
	}
	fmt.Fprintf(&b, "![Throughput of each contender as a share of the pure Go handler's, per workload](%s)\n\n", img)

	fmt.Fprintf(&b, "%s Targets\n\n| target | want | measured | |\n|---|---|---|---|\n", h)
	for _, t := range res.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Want, mdCell(t.Measured), t.verdict())
	}
	b.WriteString("\n")

	fmt.Fprintf(&b, "%s Results\n\n", h)
	b.WriteString("req/s and latencies are medians over rounds; errors are wrk's (connect, read, write, timeout, non-2xx) summed over rounds; RSS is the peak VmRSS summed over the server's processes during a measurement. **×1-proc peer**: req/s ÷ the best single-process peer's (gunicorn-sync-1, uwsgi-1p4t, waitress-4t); **×peer**: ÷ the best peer of all; **×Go**: ÷ the pure Go handler's; **p99÷Go**: p99 ÷ the Go handler's p99.\n\n")
	byName := map[string]*contender{}
	for _, c := range res.Contenders {
		byName[c.Name] = c
	}
	for _, w := range res.Workloads {
		fmt.Fprintf(&b, "%s# %s — %s\n\n", h, w.Name, w.Label)
		b.WriteString("| contender | req/s | p50 ms | p99 ms | errors | RSS MiB | ×1-proc peer | ×peer | ×Go | p99÷Go |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, c := range w.Cells {
			name, mark := c.Contender, ""
			if c.Contender == w.BestSingle {
				mark += "¹"
			}
			if c.Contender == w.BestPeer {
				mark += "²"
			}
			if mark != "" {
				name += " " + mark
			}
			if c.Contender == "gowsgi" {
				name = "**" + name + "**"
			}
			if !ok(c) {
				fmt.Fprintf(&b, "| %s | failed: %s | | | | | | | | |\n", name, mdCell(firstLine(cellFailure(c))))
				continue
			}
			errs := "0"
			if c.Errors > 0 {
				errs = c.ErrorKinds
				if c.CloseDelimited {
					errs += " ³"
				}
			}
			if c.ConnClose {
				name += " ⁴"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.1f | %s | %s | %s | %s |\n", name, num(c.RPS), ms(c.P50ms), ms(c.P99ms),
				errs, c.RSSMiB, x(c.VsBestSingle), x(c.VsBestPeer), x(c.VsGo), x(c.P99VsGo))
		}
		b.WriteString("\n¹ best single-process peer, ² best peer")
		for _, c := range w.Cells {
			if c.CloseDelimited && c.Errors > 0 {
				b.WriteString(", ³ wrk counts a read error for every response whose body ends with the connection's close (no Content-Length, no chunking); the checks saw the bodies complete")
				break
			}
		}
		for _, c := range w.Cells {
			if c.ConnClose {
				b.WriteString(", ⁴ no keep-alive: the server closes the connection after each response and wrk reconnects")
				break
			}
		}
		b.WriteString(".\n\n")
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

const (
	beginMark = "<!-- bench:begin -->"
	endMark   = "<!-- bench:end -->"
)

// write writes the result files and refreshes the README sections.
func write(res *Results, outDir, name, benchDir, readmes string) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	md := "# gowsgi benchmark: gowsgi and its peers on one machine\n\n" + markdown(res, 2, name+".svg")
	if err := os.WriteFile(filepath.Join(outDir, name+".md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(outDir, name+".json"), res); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, name+".svg"), chart(res), 0o644); err != nil {
		return err
	}
	var files []string
	if readmes != "" {
		files = strings.Split(readmes, ",")
	} else {
		files = []string{filepath.Join(benchDir, "README.md"), filepath.Join(filepath.Dir(benchDir), "README.md")}
	}
	svg, _ := filepath.Abs(filepath.Join(outDir, name+".svg"))
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		img, err := filepath.Rel(filepath.Dir(abs), svg)
		if err != nil {
			img = svg
		}
		if err := embed(f, markdown(res, 3, filepath.ToSlash(img))); err != nil {
			fmt.Fprintf(os.Stderr, "benchrun: %s: %v\n", f, err)
		}
	}
	return nil
}

// embed replaces the text between the bench markers of a Markdown file;
// a file without them is left alone.
func embed(path, text string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	// The markers count only as whole lines, so prose may name them.
	s := string(b)
	i := lineIndex(s, beginMark, 0)
	if i < 0 {
		return nil
	}
	j := lineIndex(s, endMark, i+len(beginMark))
	if j < 0 {
		return fmt.Errorf("%s without a %s line after it", beginMark, endMark)
	}
	out := s[:i+len(beginMark)] + "\n" + text + s[j:]
	if out == s {
		return nil
	}
	fmt.Printf("benchrun: updated the results in %s\n", path)
	return os.WriteFile(path, []byte(out), 0o644)
}

// lineIndex returns the index of the first line of s, from index from on,
// that is exactly line (trailing spaces aside), or -1.
func lineIndex(s, line string, from int) int {
	for i := from; i < len(s); {
		end := strings.IndexByte(s[i:], '\n')
		if end < 0 {
			end = len(s) - i
		}
		if (i == 0 || s[i-1] == '\n') && strings.TrimRight(s[i:i+end], " \r") == line {
			return i
		}
		i += end + 1
	}
	return -1
}
