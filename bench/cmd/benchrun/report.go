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
	fmt.Fprintf(&b, "Peers from Debian packages: gunicorn %s, uWSGI %s, waitress %s, Apache %s with mod_wsgi %s; Flask %s, Django %s; wrk %s. Load average at start %s, at end %s.\n\n",
		orDash(m.Packages["gunicorn"]), orDash(m.Packages["uwsgi-core"]), orDash(m.Packages["python3-waitress"]),
		orDash(m.Packages["apache2"]), orDash(m.Packages["libapache2-mod-wsgi-py3"]),
		orDash(m.Packages["python3-flask"]), orDash(m.Packages["python3-django"]), orDash(m.Packages["wrk"]),
		m.LoadAvgStart, m.LoadAvgEnd)
	threads := fmt.Sprintf("--threads %d", st.GowsgiThreads)
	if st.ThreadsDefault {
		threads += " (its default)"
	}
	fmt.Fprintf(&b, "Load: `wrk -t%d -c%d --timeout %gs` on 127.0.0.1, keep-alive; %g s measured after a %g s warm-up (discarded), %d round(s) with the contenders' order rotated each round; figures are medians over rounds, ratios are taken within each round (same minutes, same noise) and then the median. gowsgi runs %s. The run took %.1f min.\n\n",
		st.WrkThreads, st.Connections, st.TimeoutSecs, st.DurationSecs, st.WarmupSecs, st.Rounds, threads, res.ElapsedSecs/60)
	if st.Quick || st.Rounds < 2 {
		fmt.Fprintf(&b, "> **Short run** (`%s`): a smoke test; the numbers are rough.\n\n", st.Command)
	}
	fmt.Fprintf(&b, "![Throughput of each contender as a share of the pure Go handler's, per workload](%s)\n\n", img)

	fmt.Fprintf(&b, "%s Targets\n\n| target | want | measured | |\n|---|---|---|---|\n", h)
	for _, t := range res.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Want, mdCell(t.Measured), t.verdict())
	}
	b.WriteString("\n")

	var singles, twos []string
	for _, c := range res.Contenders {
		if c.Kind != "peer" {
			continue
		}
		switch c.procs() {
		case 1:
			singles = append(singles, c.Name)
		case 2:
			twos = append(twos, c.Name)
		}
	}
	fmt.Fprintf(&b, "%s Results\n\n", h)
	fmt.Fprintf(&b, "req/s and latencies are medians over rounds; errors are wrk's (connect, read, write, timeout, non-2xx) summed over rounds; RSS is the peak VmRSS summed over the server's processes during a measurement; **CPU µs/req** is the CPU time (user + system) of the server's whole process tree during the measurement ÷ the requests wrk completed, median over rounds. **×1-proc peer**: req/s ÷ the best single-process peer's (%s); **×2-proc peer**: ÷ the best 2-process peer's (%s); **×Go**: ÷ the pure Go handler's; **p99÷Go**: p99 ÷ the Go handler's p99. Each workload also gives **the app's own CPU per request**: the same app called in a loop in plain Python, no server (`bench/appcpu.py`, time spent sleeping excluded).\n\n",
		orDash(strings.Join(singles, ", ")), orDash(strings.Join(twos, ", ")))
	for _, w := range res.Workloads {
		fmt.Fprintf(&b, "%s# %s — %s\n\n", h, w.Name, w.Label)
		var notes []string
		switch a := w.AppCPU; {
		case a == nil:
		case a.Failed != "":
			notes = append(notes, "The app's own CPU: not measured ("+mdCell(firstLine(a.Failed))+").")
		default:
			notes = append(notes, fmt.Sprintf("The app's own CPU: **%s µs per request** (%s calls in plain Python; wall %s µs).", us(a.CPUus), num(float64(a.Calls)), us(a.WallUS)))
		}
		if !w.hasGo() {
			notes = append(notes, "No Go ceiling: bench/goserver has no equivalent of this app.")
		}
		if w.Setup != "" {
			notes = append(notes, "Set-up failed: "+mdCell(firstLine(w.Setup))+".")
		}
		if len(notes) > 0 {
			b.WriteString(strings.Join(notes, " ") + "\n\n")
		}
		b.WriteString("| contender | req/s | p50 ms | p99 ms | errors | RSS MiB | CPU µs/req | ×1-proc peer | ×2-proc peer | ×Go | p99÷Go |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, c := range w.Cells {
			name, mark := c.Contender, ""
			if c.Contender == w.BestSingle {
				mark += "¹"
			}
			if c.Contender == w.BestTwo {
				mark += "²"
			}
			if mark != "" {
				name += " " + mark
			}
			if k := res.contender(c.Contender); k != nil && k.Kind == "gowsgi" {
				name = "**" + name + "**"
			}
			if !ok(c) {
				fmt.Fprintf(&b, "| %s | failed: %s | | | | | | | | | |\n", name, mdCell(firstLine(cellFailure(c))))
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
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.1f | %s | %s | %s | %s | %s |\n", name, num(c.RPS), ms(c.P50ms), ms(c.P99ms),
				errs, c.RSSMiB, us(c.CPUus), x(c.VsBestSingle), x(c.VsBestTwo), x(c.VsGo), x(c.P99VsGo))
		}
		b.WriteString("\n¹ best single-process peer, ² best 2-process peer")
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
	if f := res.Fairness; f != nil {
		fairnessTable(&b, h, f)
	}
	return b.String()
}

// fairnessTable renders the fairness figure.
func fairnessTable(b *bytes.Buffer, h string, f *Fairness) {
	fmt.Fprintf(b, "%s# fairness — a trivial request while another computes, and behind an endless loop\n\n", h)
	fmt.Fprintf(b, "`bench/apps/fair.py` on each contender alone: `GET /spin?secs=%g` computes in pure Python for %g s; %.0f ms after it was sent, `GET /hello` requests go one after another, each on a new connection (%g s timeout), for %g s. Their p50 and max latency are given, and how many were answered before the spin's loop ended (the app's answer says when, by the wall clock): all of them, if the server served them while it computed. Then `GET /forever` (a loop that never ends) and, %.0f ms later, %d `GET /hello` one after another; the first that gets no answer ends the check. Then the server is killed.\n\n",
		f.SpinSecs, f.SpinSecs, f.DelayMs, f.TimeoutSecs, f.WindowSecs, f.DelayMs, foreverTries)
	b.WriteString("| contender | /hello during the spin | p50 ms | max ms | answered while the spin computed | spin took s | behind /forever: answered | max ms |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range f.Results {
		name := r.Contender
		if strings.HasPrefix(name, "gowsgi") {
			name = "**" + name + "**"
		}
		if r.Failed != "" {
			fmt.Fprintf(b, "| %s | failed: %s | | | | | | |\n", name, mdCell(firstLine(r.Failed)))
			continue
		}
		reqs := num(float64(r.Requests))
		if r.Errors > 0 {
			reqs += fmt.Sprintf(" (+%d failed)", r.Errors)
		}
		spin := fmt.Sprintf("%.2f", r.SpinSecs)
		if r.SpinErr != "" {
			spin = "failed: " + mdCell(firstLine(r.SpinErr))
		}
		forever := fmt.Sprintf("%d/%d", r.ForeverAnswered, foreverTries)
		if r.ForeverNote != "" {
			forever += " (" + mdCell(r.ForeverNote) + ")"
		}
		fmax := "–"
		if r.ForeverAnswered > 0 {
			fmax = ms(r.ForeverMaxMs())
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d/%d | %s | %s | %s |\n", name, reqs, ms(r.P50ms), ms(r.MaxMs),
			r.DuringSpin, r.Requests, spin, forever, fmax)
	}
	b.WriteString("\n")
}

// us formats microseconds: 3.4, 96.1, 1,234.
func us(f float64) string {
	switch {
	case f <= 0:
		return "–"
	case f >= 1000:
		return num(f)
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.1f", f)
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
