package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Machine says where a run happened.
type Machine struct {
	NProc        int               `json:"nproc"`
	CPU          string            `json:"cpu"`
	Kernel       string            `json:"kernel"`
	OS           string            `json:"os"`
	Python       string            `json:"python"`
	Go           string            `json:"go"`
	MemTotalGiB  float64           `json:"mem_total_gib"`
	Commit       string            `json:"gowsgi_commit"`
	Packages     map[string]string `json:"packages"`
	LoadAvgStart string            `json:"loadavg_start"`
	LoadAvgEnd   string            `json:"loadavg_end"`
}

func machine(benchDir string) Machine {
	m := Machine{NProc: runtime.NumCPU(), Go: runtime.Version(), LoadAvgStart: loadAvg(), Packages: map[string]string{}}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	m.MemTotalGiB = float64(statusKB("/proc/meminfo", "MemTotal")) / (1 << 20)
	if out, err := exec.Command("/usr/bin/python3", "-c", "import sys; print(sys.version.split()[0])").Output(); err == nil {
		m.Python = "CPython " + strings.TrimSpace(string(out))
	}
	// Read-only: which commit the working tree is on.
	git := exec.Command("git", "rev-parse", "--short", "HEAD")
	git.Dir = benchDir
	if out, err := git.Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	for _, p := range []string{"wrk", "gunicorn", "uwsgi-core", "uwsgi-plugin-python3", "python3-waitress", "python3-flask", "python3-django",
		"apache2", "libapache2-mod-wsgi-py3", "libpython3.11"} {
		if out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", p).Output(); err == nil {
			m.Packages[p] = strings.TrimSpace(string(out))
		}
	}
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
