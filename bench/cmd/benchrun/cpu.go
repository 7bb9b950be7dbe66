package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the times in /proc/PID/stat (100 on
// every Linux this runs on; getconf says for sure).
var clockTicks = func() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 100
}()

// statCPU returns the CPU time in a /proc/PID/stat line, in clock ticks:
// utime + stime (the process's threads, living and gone) + cutime + cstime
// (its children that have exited and been waited for, so that a worker
// that ends during a measurement still counts).
func statCPU(stat []byte) (int64, error) {
	// pid (comm) state ppid …: comm may hold spaces and parentheses, so
	// count the fields after the last ')'. Field 3 (state) is f[0]; utime
	// is field 14, stime 15, cutime 16, cstime 17.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no ')' in %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 15 {
		return 0, fmt.Errorf("%d fields after the command in %q", len(f), stat)
	}
	var sum int64
	for _, s := range f[11:15] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad time %q in %q", s, stat)
		}
		sum += n
	}
	return sum, nil
}

// cpuTicks is the CPU time the server's whole process tree (master and
// workers) has used so far, in clock ticks.
func (s *server) cpuTicks() int64 {
	var sum int64
	for _, p := range tree(s.cmd.Process.Pid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/stat")
		if err != nil {
			continue // exited meanwhile: its parent's cutime will have it
		}
		if n, err := statCPU(b); err == nil {
			sum += n
		}
	}
	return sum
}

// cpuPerRequestUS is the CPU time between two readings of cpuTicks, in
// microseconds per request; 0 when nothing was completed.
func cpuPerRequestUS(before, after, hz, requests int64) float64 {
	if requests <= 0 || hz <= 0 || after < before {
		return 0
	}
	return float64(after-before) / float64(hz) * 1e6 / float64(requests)
}
