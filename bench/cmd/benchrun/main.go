// Command benchrun runs gowsgi and its peers side by side on this machine
// and writes the results: bench/results/latest.{md,json,svg}.
//
// bench/run.sh is the one command: it installs what is missing, builds
// gowsgi, the Go ceiling and this program, then runs it. Flags:
//
//	--quick                 1 s measurements, 1 round (a smoke test)
//	--duration 2s --warmup 1s --rounds 2
//	--workloads hello,echo,fairness  --contenders gowsgi,go,uwsgi-1p4t
//
// For each workload the app's own CPU per request is measured first, in a
// plain Python loop (bench/appcpu.py). Then every contender that runs the
// workload is started on its own loopback port and checked to answer
// correctly (a wrong answer takes it out of that workload, with the reason
// in the report). Then, round after round, each contender in turn (the
// order rotates every round) gets a wrk warm-up, which is discarded, and a
// measured wrk run, while its memory is sampled and its CPU time read
// before and after. Ratios are taken between contenders of the same round,
// and the report gives the median over rounds. Last comes the fairness
// figure (fairness.go), one contender at a time.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Results is everything a run produced; latest.json holds it.
type Results struct {
	Date        string            `json:"date"`
	Machine     Machine           `json:"machine"`
	Settings    Settings          `json:"settings"`
	Contenders  []*contender      `json:"contenders"`
	Workloads   []*WorkloadResult `json:"workloads"`
	Fairness    *Fairness         `json:"fairness,omitempty"`
	Targets     []Target          `json:"targets"`
	ElapsedSecs float64           `json:"elapsed_s"`
}

type Settings struct {
	WrkThreads     int     `json:"wrk_threads"`
	Connections    int     `json:"connections"`
	DurationSecs   float64 `json:"duration_s"`
	WarmupSecs     float64 `json:"warmup_s"`
	Rounds         int     `json:"rounds"`
	TimeoutSecs    float64 `json:"wrk_timeout_s"`
	GowsgiThreads  int     `json:"gowsgi_threads"`
	ThreadsDefault bool    `json:"gowsgi_threads_is_default"`
	Quick          bool    `json:"quick"`
	AppCPUSecs     float64 `json:"app_cpu_s"`
	Command        string  `json:"command"`
}

// WorkloadResult is one workload: a Cell per contender.
type WorkloadResult struct {
	Name       string  `json:"name"`
	Label      string  `json:"label"`
	Module     string  `json:"module"`
	Method     string  `json:"method"`
	GoCeiling  bool    `json:"go_ceiling"`
	AppCPU     *AppCPU `json:"app_cpu,omitempty"`
	Setup      string  `json:"setup_failed,omitempty"`
	Cells      []*Cell `json:"cells"`
	BestSingle string  `json:"best_single_process_peer"`
	BestTwo    string  `json:"best_two_process_peer"`
	BestPeer   string  `json:"best_peer"`
}

// Cell is one contender on one workload: its rounds and their summary.
type Cell struct {
	Contender string  `json:"contender"`
	Failed    string  `json:"failed,omitempty"`
	Rounds    []Round `json:"rounds"`

	// Medians over the rounds (errors: the sum; memory: the peak).
	RPS        float64 `json:"rps"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	Errors     int64   `json:"errors"`
	ErrorKinds string  `json:"error_kinds,omitempty"` // e.g. "12 read, 3 timeout"
	// CloseDelimited: the server ends each response by closing the
	// connection (no Content-Length, no chunking); wrk counts each as a
	// read error although the body is complete.
	CloseDelimited bool `json:"close_delimited,omitempty"`
	// ConnClose: the server closes the connection after every response
	// (no keep-alive), so wrk reconnects for each request.
	ConnClose    bool    `json:"conn_close,omitempty"`
	RSSMiB       float64 `json:"rss_mib"`
	WorkerRSSMiB float64 `json:"worker_rss_mib"`
	PSSMiB       float64 `json:"pss_mib"`
	// CPUus is the server's CPU time per request (its whole process tree,
	// user and system), median over rounds.
	CPUus float64 `json:"cpu_us_per_request"`
	// Ratios, each the median over rounds of this round's figure divided
	// by the same round's reference; 0 when there is no reference.
	VsBestSingle float64 `json:"rps_vs_best_single_process_peer"`
	VsBestTwo    float64 `json:"rps_vs_best_two_process_peer"`
	VsBestPeer   float64 `json:"rps_vs_best_peer"`
	VsGo         float64 `json:"rps_vs_go"`
	P99VsGo      float64 `json:"p99_vs_go"`
}

// Round is one measured wrk run.
type Round struct {
	Round        int        `json:"round"`
	Position     int        `json:"position"` // order within the round
	Start        string     `json:"start"`
	RPS          float64    `json:"rps"`
	P50ms        float64    `json:"p50_ms"`
	P90ms        float64    `json:"p90_ms"`
	P99ms        float64    `json:"p99_ms"`
	MaxMs        float64    `json:"max_ms"`
	Errors       int64      `json:"errors"`
	MBps         float64    `json:"mb_per_s"`
	RSSMiB       float64    `json:"rss_mib"`
	WorkerRSSMiB float64    `json:"worker_rss_mib"`
	PSSMiB       float64    `json:"pss_mib"`
	CPUSecs      float64    `json:"cpu_s"` // the server's CPU time during the run
	CPUus        float64    `json:"cpu_us_per_request"`
	Wrk          *wrkResult `json:"wrk"`
}

// registry of running servers, for stopping them on a signal.
var (
	runMu   sync.Mutex
	running = map[*server]bool{}
)

func track(s *server) {
	runMu.Lock()
	running[s] = true
	runMu.Unlock()
}

func untrack(s *server) {
	runMu.Lock()
	delete(running, s)
	runMu.Unlock()
}

// gowsgiLib is the library contender's binary (examples/workers), from
// --gowsgi-lib or bench/.build/gowsgi-lib.
var gowsgiLib = flag.String("gowsgi-lib", "", "examples/workers built: the library contender (bench/run.sh builds it)")

func main() {
	var (
		benchDir    = flag.String("bench-dir", "", "the bench/ directory (default: found from the working directory)")
		gowsgiBin   = flag.String("gowsgi", "", "the gowsgi binary (bench/run.sh builds it)")
		goserverBin = flag.String("goserver", "", "the Go ceiling binary (bench/run.sh builds it)")
		outDir      = flag.String("out", "", "where to write latest.{md,json,svg} (default bench/results)")
		name        = flag.String("name", "latest", "base name of the result files")
		duration    = flag.Duration("duration", 2*time.Second, "length of one measurement (whole seconds)")
		warmup      = flag.Duration("warmup", 1*time.Second, "wrk warm-up before each measurement, discarded (whole seconds; 0: none)")
		rounds      = flag.Int("rounds", 2, "rounds; contenders are interleaved within each, and the median is reported")
		appSecs     = flag.Float64("app-cpu-secs", 0.5, "CPU seconds of the app's own loop per workload (bench/appcpu.py)")
		conns       = flag.Int("connections", 64, "wrk -c")
		wthreads    = flag.Int("wrk-threads", 2, "wrk -t")
		timeout     = flag.Duration("timeout", 5*time.Second, "wrk --timeout: a request slower than this counts as an error")
		quick       = flag.Bool("quick", false, "smoke test: --duration 1s --warmup 1s --rounds 1 unless given")
		onlyW       = flag.String("workloads", "", "comma-separated workloads to run, \"fairness\" among them (default all)")
		onlyC       = flag.String("contenders", "", "comma-separated contenders to run (default all)")
		gwThreads   = flag.Int("gowsgi-threads", 0, "gowsgi --threads (0: the CLI's default)")
		readmes     = flag.String("readme", "", "comma-separated Markdown files whose '<!-- bench:begin -->…<!-- bench:end -->' section gets the table (default: bench/README.md and README.md, where they have the markers)")
		list        = flag.Bool("list", false, "list the workloads and contenders and exit")
		render      = flag.String("render", "", "re-render the .md and .svg (and README sections) from this results .json, without running anything")
	)
	flag.Parse()
	if *render != "" {
		if err := rerender(*render, *benchDir, *outDir, *name, *readmes); err != nil {
			fmt.Fprintln(os.Stderr, "benchrun:", err)
			os.Exit(1)
		}
		return
	}
	if *quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["duration"] {
			*duration = time.Second
		}
		if !set["warmup"] {
			*warmup = time.Second
		}
		if !set["rounds"] {
			*rounds = 1
		}
		if !set["app-cpu-secs"] {
			*appSecs = 0.2
		}
	}
	if *list {
		for _, w := range workloads() {
			fmt.Printf("workload  %-12s %s\n", w.Name, w.Label)
		}
		fmt.Printf("workload  %-12s %s\n", fairName, "the fairness figure: /hello while /spin computes, and behind /forever")
		for _, c := range contenders() {
			only := ""
			if c.Kind == "ceiling" {
				only = " (only where bench/goserver has an equivalent)"
			}
			if len(c.Workloads) > 0 {
				only = " (only " + strings.Join(c.Workloads, ", ") + ")"
			}
			if c.Fairness {
				only += " (and the fairness figure)"
			}
			fmt.Printf("contender %-20s %s%s\n", c.Name, c.Label, only)
		}
		return
	}
	if err := run(*benchDir, *gowsgiBin, *goserverBin, *outDir, *name, *onlyW, *onlyC, *readmes,
		Settings{WrkThreads: *wthreads, Connections: *conns, DurationSecs: wholeSecs(*duration),
			WarmupSecs: wholeSecs0(*warmup), Rounds: max(*rounds, 1), TimeoutSecs: wholeSecs(*timeout),
			GowsgiThreads: *gwThreads, Quick: *quick, AppCPUSecs: *appSecs, Command: userArgs(os.Args[1:])}); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

func wholeSecs(d time.Duration) float64 { return float64(max((d+time.Second-1)/time.Second, 1)) }
func wholeSecs0(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return wholeSecs(d)
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func run(benchDir, gowsgiBin, goserverBin, outDir, name, onlyW, onlyC, readmes string, st Settings) error {
	began := time.Now()
	var err error
	if benchDir, err = findBenchDir(benchDir); err != nil {
		return err
	}
	if outDir == "" {
		outDir = filepath.Join(benchDir, "results")
	}
	e := &env{benchDir: benchDir, appsDir: appsDir(benchDir), threads: st.GowsgiThreads}
	for _, b := range []struct {
		p    *string
		flag string
		def  string
	}{{&gowsgiBin, "--gowsgi", "gowsgi"}, {&goserverBin, "--goserver", "goserver"}} {
		if *b.p == "" {
			*b.p = filepath.Join(benchDir, ".build", b.def)
		}
		if *b.p, err = filepath.Abs(*b.p); err != nil {
			return err
		}
		if _, err := os.Stat(*b.p); err != nil {
			return fmt.Errorf("%s: %v (bench/run.sh builds it)", b.flag, err)
		}
	}
	e.gowsgi, e.goserver = gowsgiBin, goserverBin
	lib := *gowsgiLib
	if lib == "" {
		lib = filepath.Join(benchDir, ".build", "gowsgi-lib")
	}
	if lib, err = filepath.Abs(lib); err == nil && fileExists(lib) {
		e.gowsgiLib = lib
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk is not installed (bench/run.sh installs it): %v", err)
	}
	if st.GowsgiThreads == 0 {
		st.GowsgiThreads, st.ThreadsDefault = defaultThreads(gowsgiBin), true
	}

	onlyW, fair := wantFairness(onlyW)
	var ws []*workload
	if onlyW != "-" {
		if ws, err = pick(workloads(), onlyW, func(w *workload) string { return w.Name }); err != nil {
			return err
		}
	}
	cs, err := pick(contenders(), onlyC, func(c *contender) string { return c.Name })
	if err != nil {
		return err
	}
	var fcs []*contender
	if fair {
		for _, c := range cs {
			if c.Fairness {
				fcs = append(fcs, c)
			}
		}
	}
	tmp, err := os.MkdirTemp("", "gowsgi-bench-")
	if err != nil {
		return err
	}
	// Searchable by others: Apache's children (www-data) reach mod_wsgi's
	// socket in it.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	e.tmp = tmp
	res := &Results{Date: began.UTC().Format(time.RFC3339), Machine: machine(benchDir), Settings: st, Contenders: cs}

	// Stop every server we started if we are interrupted.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "\nbenchrun: %v: stopping the servers\n", s)
		runMu.Lock()
		for srv := range running {
			srv.stop()
		}
		os.Exit(130)
	}()

	cells := 0
	for _, w := range ws {
		cells += len(runners(cs, w))
	}
	fmt.Printf("benchrun: %d workloads, %d contender-workload pairs × %d rounds, %gs warm-up + %gs measured each; fairness: %d contenders; about %.1f min\n",
		len(ws), cells, st.Rounds, st.WarmupSecs, st.DurationSecs, len(fcs), estimate(ws, cs, len(fcs), st)/60)
	fmt.Printf("benchrun: %s, %d CPUs, %s; logs in %s\n", res.Machine.CPU, res.Machine.NProc, res.Machine.Python, tmp)

	l := load{threads: st.WrkThreads, conns: st.Connections, timeout: secs(st.TimeoutSecs)}
	for _, w := range ws {
		wr, err := runWorkload(e, w, runners(cs, w), st, l, tmp)
		if err != nil {
			return err
		}
		res.Workloads = append(res.Workloads, wr)
	}
	if len(fcs) > 0 {
		res.Fairness = runFairness(e, fcs, tmp)
	}
	// Keep the servers' logs only when a contender failed.
	failed := false
	for _, w := range res.Workloads {
		for _, c := range w.Cells {
			failed = failed || c.Failed != ""
		}
	}
	if res.Fairness != nil {
		for _, r := range res.Fairness.Results {
			failed = failed || r.Failed != ""
		}
	}
	if failed {
		fmt.Printf("benchrun: some contenders failed; their logs are in %s\n", tmp)
	} else {
		os.RemoveAll(tmp)
	}
	res.Machine.LoadAvgEnd = loadAvg()
	res.ElapsedSecs = time.Since(began).Seconds()
	res.Targets = targets(res)
	if err := write(res, outDir, name, benchDir, readmes); err != nil {
		return err
	}
	fmt.Printf("\nbenchrun: done in %.1f min; wrote %s\n", res.ElapsedSecs/60, filepath.Join(outDir, name+".{md,json,svg}"))
	for _, t := range res.Targets {
		fmt.Printf("  %-4s %-60s %s\n", t.verdict(), t.Name, t.Measured)
	}
	return nil
}

// fairName is the name that selects the fairness figure in --workloads.
const fairName = "fairness"

// wantFairness takes "fairness" out of a --workloads list and says whether
// it was there (or the list was empty: everything). The list left is "-"
// when nothing else was asked for.
func wantFairness(only string) (string, bool) {
	if only == "" {
		return "", true
	}
	var rest []string
	fair := false
	for _, n := range strings.Split(only, ",") {
		if strings.TrimSpace(n) == fairName {
			fair = true
			continue
		}
		rest = append(rest, n)
	}
	if len(rest) == 0 {
		return "-", fair
	}
	return strings.Join(rest, ","), fair
}

// runners are the contenders of cs that run workload w.
func runners(cs []*contender, w *workload) []*contender {
	var out []*contender
	for _, c := range cs {
		if c.runs(w) {
			out = append(out, c)
		}
	}
	return out
}

// Estimated costs, in seconds, for the time printed at the start: a
// measurement's overhead besides wrk's own time (checks, start of wrk),
// a workload's fixed cost (servers starting, the app's own CPU loop), and
// one contender's fairness figure (start, 2 s spin, the probes behind
// /forever, up to one 5 s timeout).
const (
	estPerRun      = 0.4
	estPerWorkload = 9.0
	estPerFair     = 9.0
)

// estimate is how long a run should take, in seconds.
func estimate(ws []*workload, cs []*contender, fair int, st Settings) float64 {
	t := float64(fair) * estPerFair
	for _, w := range ws {
		n := float64(len(runners(cs, w)))
		t += n*float64(st.Rounds)*(st.WarmupSecs+st.DurationSecs+estPerRun) + estPerWorkload + st.AppCPUSecs
	}
	return t
}

func runWorkload(e *env, w *workload, cs []*contender, st Settings, l load, tmp string) (*WorkloadResult, error) {
	fmt.Printf("\n== %s: %s (%s)\n", w.Name, w.Label, w.Module)
	scriptPath, err := script(e.benchDir, tmp, w)
	if err != nil {
		return nil, err
	}
	wr := &WorkloadResult{Name: w.Name, Label: w.Label, Module: w.Module, Method: w.Method, GoCeiling: w.GoCeiling}
	servers := make([]*server, len(cs))
	cells := make([]*Cell, len(cs))
	for i, c := range cs {
		cells[i] = &Cell{Contender: c.Name}
	}
	wr.Cells = cells
	if w.setup != nil {
		if err := w.setup(e); err != nil {
			wr.Setup = err.Error()
			fmt.Printf("   setup FAILED: %v\n", err)
			for _, c := range cells {
				c.Failed = "setup: " + err.Error()
			}
			return wr, nil
		}
	}
	a := appCPU(e, w, st.AppCPUSecs)
	wr.AppCPU = &a
	if a.Failed != "" {
		fmt.Printf("   app's own CPU: FAILED: %s\n", a.Failed)
	} else {
		fmt.Printf("   app's own CPU: %.1f µs per call (wall %.1f µs, %d calls in plain Python)\n", a.CPUus, a.WallUS, a.Calls)
	}
	defer func() {
		for _, s := range servers {
			if s != nil {
				s.stop()
				untrack(s)
			}
		}
	}()
	// Start them all, then check each: their start-ups overlap.
	for i, c := range cs {
		s, err := start(e, c, w, tmp)
		if err != nil {
			cells[i].Failed = "could not start: " + err.Error()
			fmt.Printf("   %-20s FAILED: %s\n", c.Name, cells[i].Failed)
			continue
		}
		track(s)
		servers[i] = s
	}
	for i, s := range servers {
		if s == nil {
			continue
		}
		if err := s.ready(w, 30*time.Second); err != nil {
			cells[i].Failed = err.Error()
			fmt.Printf("   %-20s FAILED: %s\n", cs[i].Name, err)
			s.stop()
		}
	}

	for r := 0; r < st.Rounds; r++ {
		for pos := 0; pos < len(cs); pos++ {
			i := (pos + r) % len(cs) // rotate the order every round
			s, cell := servers[i], cells[i]
			if s == nil || cell.Failed != "" {
				continue
			}
			fail := func(msg string) {
				cell.Failed = fmt.Sprintf("round %d: %s", r+1, msg)
				fmt.Printf("   %-20s FAILED: %s\n", cs[i].Name, cell.Failed)
				s.stop()
			}
			if !s.alive() {
				fail(fmt.Sprintf("%v (%v); log %s:\n%s", errDied, s.waitErr, s.logPath, tail(s.logPath, 15)))
				continue
			}
			if st.WarmupSecs > 0 {
				if _, cmdline, err := runWrk(l, scriptPath, s.url, secs(st.WarmupSecs)); err != nil {
					fail(fmt.Sprintf("warm-up (%s): %v", cmdline, err))
					continue
				}
			}
			startAt := time.Now()
			sm := sample(s, 200*time.Millisecond)
			cpu0 := s.cpuTicks()
			res, cmdline, err := runWrk(l, scriptPath, s.url, secs(st.DurationSecs))
			cpu1 := s.cpuTicks()
			peak := sm.end()
			if err != nil {
				fail(fmt.Sprintf("%s: %v", cmdline, err))
				continue
			}
			pss := s.memory(true).PSS
			if !s.alive() {
				fail(fmt.Sprintf("%v during the measurement (%v); log %s:\n%s", errDied, s.waitErr, s.logPath, tail(s.logPath, 15)))
				continue
			}
			// Still right after the load?
			if err := s.ready(w, 5*time.Second); err != nil {
				fail("after the measurement: " + err.Error())
				continue
			}
			secs := float64(res.DurationUS) / 1e6
			rd := Round{
				Round: r + 1, Position: pos + 1, Start: startAt.UTC().Format(time.RFC3339),
				RPS:   float64(res.Requests) / secs,
				P50ms: float64(res.P50US) / 1e3, P90ms: float64(res.P90US) / 1e3,
				P99ms: float64(res.P99US) / 1e3, MaxMs: float64(res.MaxUS) / 1e3,
				Errors: res.errors(), MBps: float64(res.Bytes) / secs / 1e6,
				RSSMiB: float64(peak.Total) / 1024, WorkerRSSMiB: float64(peak.Workers) / 1024,
				PSSMiB: float64(pss) / 1024, Wrk: res,
				CPUSecs: float64(cpu1-cpu0) / float64(clockTicks), CPUus: cpuPerRequestUS(cpu0, cpu1, clockTicks, res.Requests),
			}
			cell.Rounds = append(cell.Rounds, rd)
			cell.CloseDelimited, cell.ConnClose = s.answer.CloseDelimited, s.answer.Close
			fmt.Printf("   r%d %-20s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  err %-5d RSS %6.1f MiB  CPU %7.1f µs/req\n",
				r+1, cs[i].Name, rd.RPS, rd.P50ms, rd.P99ms, rd.Errors, rd.RSSMiB, rd.CPUus)
		}
	}
	summarize(wr, cs)
	return wr, nil
}

// summarize fills the cells' medians and ratios.
func summarize(wr *WorkloadResult, cs []*contender) {
	byName := map[string]*contender{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	// Each round's references.
	type refs struct{ bestSingle, bestTwo, bestPeer, goRPS, goP99 float64 }
	rounds := map[int]*refs{}
	for _, cell := range wr.Cells {
		c := byName[cell.Contender]
		for _, rd := range cell.Rounds {
			rf := rounds[rd.Round]
			if rf == nil {
				rf = &refs{}
				rounds[rd.Round] = rf
			}
			switch {
			case c.Kind == "ceiling":
				rf.goRPS, rf.goP99 = rd.RPS, rd.P99ms
			case c.Kind == "peer":
				rf.bestPeer = max(rf.bestPeer, rd.RPS)
				switch c.procs() {
				case 1:
					rf.bestSingle = max(rf.bestSingle, rd.RPS)
				case 2:
					rf.bestTwo = max(rf.bestTwo, rd.RPS)
				}
			}
		}
	}
	ratio := func(a, b float64) float64 {
		if b <= 0 {
			return 0
		}
		return a / b
	}
	var bestS, bestT, bestP float64
	for _, cell := range wr.Cells {
		if len(cell.Rounds) == 0 {
			continue
		}
		var rps, p50, p99, cpu, vs, vt, vp, vg, pg []float64
		var kinds wrkResult
		for _, rd := range cell.Rounds {
			if w := rd.Wrk; w != nil {
				kinds.Connect += w.Connect
				kinds.Read += w.Read
				kinds.Write += w.Write
				kinds.Status += w.Status
				kinds.Timeout += w.Timeout
			}
			rf := rounds[rd.Round]
			rps, p50, p99, cpu = append(rps, rd.RPS), append(p50, rd.P50ms), append(p99, rd.P99ms), append(cpu, rd.CPUus)
			vs, vp = append(vs, ratio(rd.RPS, rf.bestSingle)), append(vp, ratio(rd.RPS, rf.bestPeer))
			vt = append(vt, ratio(rd.RPS, rf.bestTwo))
			vg, pg = append(vg, ratio(rd.RPS, rf.goRPS)), append(pg, ratio(rd.P99ms, rf.goP99))
			cell.Errors += rd.Errors
			cell.RSSMiB = max(cell.RSSMiB, rd.RSSMiB)
			cell.WorkerRSSMiB = max(cell.WorkerRSSMiB, rd.WorkerRSSMiB)
			cell.PSSMiB = max(cell.PSSMiB, rd.PSSMiB)
		}
		var parts []string
		for _, k := range []struct {
			n    int64
			name string
		}{{kinds.Connect, "connect"}, {kinds.Read, "read"}, {kinds.Write, "write"}, {kinds.Status, "non-2xx"}, {kinds.Timeout, "timeout"}} {
			if k.n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", k.n, k.name))
			}
		}
		cell.ErrorKinds = strings.Join(parts, ", ")
		cell.RPS, cell.P50ms, cell.P99ms, cell.CPUus = median(rps), median(p50), median(p99), median(cpu)
		cell.VsBestSingle, cell.VsBestPeer, cell.VsGo, cell.P99VsGo = median(vs), median(vp), median(vg), median(pg)
		cell.VsBestTwo = median(vt)
		c := byName[cell.Contender]
		if c.Kind == "peer" {
			if cell.RPS > bestP {
				bestP, wr.BestPeer = cell.RPS, c.Name
			}
			if c.procs() == 1 && cell.RPS > bestS {
				bestS, wr.BestSingle = cell.RPS, c.Name
			}
			if c.procs() == 2 && cell.RPS > bestT {
				bestT, wr.BestTwo = cell.RPS, c.Name
			}
		}
	}
}

func median(xs []float64) float64 {
	var ys []float64
	for _, x := range xs {
		if x > 0 {
			ys = append(ys, x)
		}
	}
	if len(ys) == 0 {
		return 0
	}
	slices.Sort(ys)
	n := len(ys)
	if n%2 == 1 {
		return ys[n/2]
	}
	return (ys[n/2-1] + ys[n/2]) / 2
}

// pick keeps the items named in a comma-separated list (all if empty), in
// their own order.
func pick[T any](all []T, only string, name func(T) string) ([]T, error) {
	if only == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		want[strings.TrimSpace(n)] = true
	}
	var out []T
	var names []string
	for _, x := range all {
		names = append(names, name(x))
		if want[name(x)] {
			out = append(out, x)
			delete(want, name(x))
		}
	}
	for n := range want {
		return nil, fmt.Errorf("unknown name %q (known: %s)", n, strings.Join(names, ", "))
	}
	return out, nil
}

// findBenchDir returns the bench directory: the one given, or bench/ below
// the working directory, or the working directory itself.
func findBenchDir(dir string) (string, error) {
	cands := []string{dir}
	if dir == "" {
		cands = []string{"bench", "."}
	}
	for _, d := range cands {
		if st, err := os.Stat(filepath.Join(d, "apps", "hello.py")); err == nil && !st.IsDir() {
			return filepath.Abs(d)
		}
	}
	return "", fmt.Errorf("cannot find the bench directory (with apps/hello.py): give --bench-dir")
}

// defaultThreads reads gowsgi's default --threads from its --help.
func defaultThreads(bin string) int {
	out, _ := exec.Command(bin, "--help").CombinedOutput()
	m := regexp.MustCompile(`--threads int[^\n]*\(default (\d+)\)`).FindSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// rerender writes the report files again from a results file.
func rerender(path, benchDir, outDir, name, readmes string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if benchDir, err = findBenchDir(benchDir); err != nil {
		return err
	}
	if outDir == "" {
		outDir = filepath.Dir(path)
	}
	res.Targets = targets(&res)
	return write(&res, outDir, name, benchDir, readmes)
}

// userArgs is the command line as the user gave it to bench/run.sh: without
// the paths run.sh adds.
func userArgs(args []string) string {
	out := []string{"bench/run.sh"}
	for i := 0; i < len(args); i++ {
		name := strings.TrimLeft(args[i], "-")
		name, _, hasValue := strings.Cut(name, "=")
		switch name {
		case "bench-dir", "gowsgi", "goserver", "gowsgi-lib":
			if !hasValue {
				i++
			}
			continue
		}
		out = append(out, args[i])
	}
	return strings.Join(out, " ")
}
