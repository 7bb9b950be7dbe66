package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is one contender running one workload.
type server struct {
	c       *contender
	addr    string
	url     string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the process has exited
	waitErr error
	failed  string // why the contender is out of this workload, if it is
	answer  answer // what the checks saw of its responses
}

// freePort asks the kernel for a free loopback port.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start launches c on w in its own process group, with its output in a log
// file under logDir.
func start(e *env, c *contender, w *workload, logDir string) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{c: c, addr: addr, url: "http://" + addr + "/", exited: make(chan struct{}),
		logPath: filepath.Join(logDir, w.Name+"-"+c.Name+".log")}
	if s.cmd, err = c.cmd(e, w, addr); err != nil {
		return nil, err
	}
	if s.cmd.Env == nil {
		s.cmd.Env = serverEnv(e)
	}
	// Own process group, so stop reaches the workers too; killed if we die.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	log, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "$ %s\n", strings.Join(s.cmd.Args, " "))
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		log.Close()
		close(s.exited)
	}()
	return s, nil
}

// serverEnv is the environment of the servers and of the helper scripts:
// ours, without anything that would point Python elsewhere than Debian's,
// and with bench/apps on PYTHONPATH.
func serverEnv(e *env) []string { return pythonEnv(e.appsDir) }

// pythonEnv is serverEnv with another directory on PYTHONPATH.
func pythonEnv(pythonPath string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONFAULTHANDLER", "GOMAXPROCS", "GOGC",
			"DJANGO_SETTINGS_MODULE", "DJANGOBENCH_DB":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PYTHONPATH="+pythonPath)
}

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// ready waits until the server answers the workload's request correctly.
// A wrong answer fails at once; no answer within timeout fails too.
func (s *server) ready(w *workload, timeout time.Duration) error {
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	for {
		if !s.alive() {
			return fmt.Errorf("%w (%v) before answering; log %s:\n%s", errDied, s.waitErr, s.logPath, tail(s.logPath, 15))
		}
		conn, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s; log %s:\n%s", s.addr, timeout, s.logPath, tail(s.logPath, 15))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Twice: a keep-alive connection must answer its second request right too.
	for i := 0; i < 2; i++ {
		if err := checkOnce(client, w, s.url, &s.answer); err != nil {
			return fmt.Errorf("wrong answer to %s %s: %v (log %s)", w.Method, s.url, err, s.logPath)
		}
	}
	return nil
}

// stop ends the server's process group: SIGTERM, then SIGKILL after a grace
// period.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pgid := s.cmd.Process.Pid // the group we created with Setpgid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	}
	// Workers that outlived their master.
	syscall.Kill(-pgid, syscall.SIGKILL)
}

// kill ends the server's process group at once, with SIGKILL: for a
// server that has a request stuck in an endless loop.
func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// ---- memory ----

// tree returns pid and its descendants (pid first), from /proc.
func tree(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		children[pp] = append(children[pp], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// statusKB reads a "Key:   N kB" line of /proc/PID/status (or smaps_rollup).
func statusKB(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			fs := strings.Fields(rest)
			if len(fs) > 0 {
				n, _ := strconv.ParseInt(fs[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// memory is the server's memory at one moment, in KiB.
type memory struct {
	Total   int64 // VmRSS summed over the process tree
	Workers int64 // the same without a master process
	PSS     int64 // proportional set size over the tree (shared pages split)
}

func (s *server) memory(withPSS bool) memory {
	var m memory
	pids := tree(s.cmd.Process.Pid)
	for i, p := range pids {
		kb := statusKB("/proc/"+strconv.Itoa(p)+"/status", "VmRSS")
		m.Total += kb
		if !s.c.Master || i > 0 || len(pids) == 1 {
			m.Workers += kb
		}
		if withPSS {
			m.PSS += statusKB("/proc/"+strconv.Itoa(p)+"/smaps_rollup", "Pss")
		}
	}
	return m
}

// sampler records the peak memory of a server while a measurement runs.
type sampler struct {
	mu   sync.Mutex
	peak memory
	stop chan struct{}
	done chan struct{}
}

func sample(s *server, every time.Duration) *sampler {
	sm := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(sm.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			m := s.memory(false)
			sm.mu.Lock()
			sm.peak.Total = max(sm.peak.Total, m.Total)
			sm.peak.Workers = max(sm.peak.Workers, m.Workers)
			sm.mu.Unlock()
			select {
			case <-sm.stop:
				return
			case <-t.C:
			}
		}
	}()
	return sm
}

func (sm *sampler) end() memory {
	close(sm.stop)
	<-sm.done
	return sm.peak
}
