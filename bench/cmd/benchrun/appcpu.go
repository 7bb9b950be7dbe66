package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// AppCPU is the app's own cost per request, from bench/appcpu.py: the app
// called in a loop in plain Python, with no server.
type AppCPU struct {
	Calls  int64   `json:"calls"`
	CPUus  float64 `json:"cpu_us"`  // CPU per call (time.process_time)
	WallUS float64 `json:"wall_us"` // wall time per call, sleeps included
	Failed string  `json:"failed,omitempty"`
}

// appCPU measures workload w's app for about secs seconds of CPU.
func appCPU(e *env, w *workload, secs float64) AppCPU {
	args := []string{filepath.Join(e.benchDir, "appcpu.py"), "--secs", strconv.FormatFloat(secs, 'g', -1, 64)}
	if len(w.body) > 0 {
		args = append(args, "--body-size", strconv.Itoa(len(w.body)))
	}
	args = append(args, w.Module, w.Method, strings.Join(w.paths(), ","))
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(4*secs*float64(time.Second))+60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = e.appsDir
	cmd.Env = serverEnv(e)
	out, err := cmd.CombinedOutput()
	var a AppCPU
	if err != nil {
		a.Failed = fmt.Sprintf("%s %s: %v: %s", python, strings.Join(args, " "), err, lastLines(string(out), 5))
		return a
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &a); jerr != nil || a.Calls == 0 {
		a.Failed = fmt.Sprintf("appcpu.py printed %q (%v)", lastLines(string(out), 5), jerr)
	}
	return a
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
