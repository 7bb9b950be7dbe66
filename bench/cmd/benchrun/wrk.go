package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what report.lua prints at the end of a wrk run.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	Bytes      int64   `json:"bytes"`
	Connect    int64   `json:"connect"`
	Read       int64   `json:"read"`
	Write      int64   `json:"write"`
	Status     int64   `json:"status"`
	Timeout    int64   `json:"timeout"`
	P50US      int64   `json:"p50_us"`
	P90US      int64   `json:"p90_us"`
	P99US      int64   `json:"p99_us"`
	MaxUS      int64   `json:"max_us"`
	MeanUS     float64 `json:"mean_us"`
}

func (r *wrkResult) errors() int64 { return r.Connect + r.Read + r.Write + r.Status + r.Timeout }

// load is how wrk loads a server.
type load struct {
	threads, conns int
	timeout        time.Duration
}

// script writes the wrk script of workload w (its own part, then
// report.lua) into dir and returns its path.
func script(benchDir, dir string, w *workload) (string, error) {
	var b bytes.Buffer
	if w.Lua != "" {
		src, err := os.ReadFile(filepath.Join(benchDir, "wrk", w.Lua))
		if err != nil {
			return "", err
		}
		b.Write(src)
		b.WriteString("\n")
	}
	src, err := os.ReadFile(filepath.Join(benchDir, "wrk", "report.lua"))
	if err != nil {
		return "", err
	}
	b.Write(src)
	path := filepath.Join(dir, w.Name+".lua")
	return path, os.WriteFile(path, b.Bytes(), 0o644)
}

// runWrk loads url for d and returns wrk's figures. The command line is
// returned too, for the record.
func runWrk(l load, script, url string, d time.Duration) (*wrkResult, string, error) {
	args := []string{
		"-t" + strconv.Itoa(l.threads), "-c" + strconv.Itoa(l.conns),
		"-d" + wrkDuration(d), "--timeout", wrkDuration(l.timeout),
		"-s", script, url,
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+l.timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	line := "wrk " + strings.Join(args, " ")
	err := cmd.Run()
	for _, l := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(l, "BENCHJSON "); ok {
			var r wrkResult
			if jerr := json.Unmarshal([]byte(rest), &r); jerr != nil {
				return nil, line, fmt.Errorf("parsing wrk's report %q: %v", rest, jerr)
			}
			return &r, line, nil
		}
	}
	return nil, line, fmt.Errorf("wrk gave no report (err %v):\n%s%s", err, out.String(), errb.String())
}

// wrkDuration formats d the way wrk reads it: whole seconds, at least 1.
func wrkDuration(d time.Duration) string {
	return strconv.FormatInt(max(int64((d+time.Second-1)/time.Second), 1), 10) + "s"
}
