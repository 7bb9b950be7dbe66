package main

// Supervision of worker processes through the command: crashes, SIGHUP,
// SIGTTIN/SIGTTOU, a master killed with SIGKILL. Each against the real
// binary and its real worker processes.

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// workerPids lists the live child processes of pid.
func workerPids(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(strings.Split(st, "/")[2])
			out = append(out, n)
		}
	}
	return out
}

// waitWorkers waits until the master has n worker processes.
func waitWorkers(t *testing.T, master, n int) []int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pids := workerPids(master)
		if len(pids) == n {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("master %d has workers %v, want %d", master, pids, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hammer sends GETs to url from n clients until the returned stop is
// called, which reports how many got 200 and how many did not, and the
// count of each status (0: no response at all).
func hammer(url string, n int) (stop func() (ok, failed int64, statuses map[int]int64)) {
	var mu sync.Mutex
	counts := map[int]int64{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A connection kept for each client: the default keeps two
			// a host, and the others would open one a request.
			c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
			defer c.CloseIdleConnections()
			for {
				select {
				case <-done:
					return
				default:
				}
				code := 0
				if resp, err := c.Get(url); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				counts[code]++
				mu.Unlock()
			}
		}()
	}
	return func() (int64, int64, map[int]int64) {
		close(done)
		wg.Wait()
		ok := counts[200]
		var failed int64
		for code, n := range counts {
			if code != 200 {
				failed += n
			}
		}
		return ok, failed, counts
	}
}

// TestCLIWorkersSurviveCrashes: requests that segfault their worker, in
// quick succession, cost those requests (502) and never the server; with
// clients keeping the server busy, a crash costs the requests in flight on
// that worker (502), never one sent after it died: those go to the other
// worker or the replacement.
func TestCLIWorkersSurviveCrashes(t *testing.T) {
	for _, tc := range []struct {
		name             string
		clients, crashes int
	}{
		{"alone", 0, 5},
		{"under load", 64, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freePort(t)
			p := startGowsgi(t, nil, "--bind", addr, "--workers", "2", "--chdir", appDir, "app:app")
			c := &http.Client{Timeout: 20 * time.Second}
			base := "http://" + addr
			waitReady(t, p, c, base+"/")
			var stop func() (int64, int64, map[int]int64)
			if tc.clients > 0 {
				stop = hammer(base+"/", tc.clients)
			}
			for i := 0; i < tc.crashes; i++ {
				if resp, _ := readAll(t, c, base+"/crash"); resp.StatusCode != http.StatusBadGateway {
					t.Errorf("crash %d: %s, want 502", i, resp.Status)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if stop != nil {
				ok, _, statuses := stop()
				for code, n := range statuses {
					if code != 200 && code != http.StatusBadGateway {
						t.Errorf("%d requests got %d (0: no response), want only 200 or 502", n, code)
					}
				}
				if ok == 0 {
					t.Errorf("no request served during the crashes: %v", statuses)
				}
				// The 502s are requests lost in flight; one that never
				// reached a worker would say so.
				if n := strings.Count(p.stderr.String(), "cannot reach a worker process"); n > 0 {
					t.Errorf("%d requests sent after their worker died were answered 502 (statuses %v)", n, statuses)
				}
				t.Logf("statuses under %d crashes: %v", tc.crashes, statuses)
			}
			if p.exited() {
				t.Fatalf("the server exited after crashing workers:\n%s", p.stderr.String())
			}
			waitReady(t, p, c, base+"/")
			waitWorkers(t, p.cmd.Process.Pid, 2)
		})
	}
}

// TestCLIReloadOnSIGHUP: SIGHUP under load starts workers with the new
// code and retires the old ones, without one failed request.
func TestCLIReloadOnSIGHUP(t *testing.T) {
	addr := freePort(t)
	vfile := filepath.Join(t.TempDir(), "version")
	os.WriteFile(vfile, []byte("one"), 0o644)
	p := startGowsgi(t, []string{"GOWSGI_TEST_VERSION_FILE=" + vfile},
		"--bind", addr, "--workers", "2", "--chdir", appDir, "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	base := "http://" + addr
	waitReady(t, p, c, base+"/")
	old := waitWorkers(t, p.cmd.Process.Pid, 2)

	stop := hammer(base+"/", 16)
	os.WriteFile(vfile, []byte("two"), 0o644)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, body := readAll(t, c, base+"/version"); body == "two" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new version never served after SIGHUP:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	ok, failed, statuses := stop()
	if failed > 0 {
		t.Errorf("%d of %d requests failed across SIGHUP (statuses %v)", failed, ok+failed, statuses)
	}
	for _, pid := range old {
		for deadline := time.Now().Add(20 * time.Second); pidAlive(pid); {
			if time.Now().After(deadline) {
				t.Fatalf("old worker %d still running after the reload", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func pidAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// TestCLIWorkersTTINTTOU: one worker more on SIGTTIN, one fewer on
// SIGTTOU.
func TestCLIWorkersTTINTTOU(t *testing.T) {
	addr := freePort(t)
	p := startGowsgi(t, nil, "--bind", addr, "--workers", "2", "--chdir", appDir, "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	waitReady(t, p, c, "http://"+addr+"/")
	master := p.cmd.Process.Pid
	waitWorkers(t, master, 2)
	p.cmd.Process.Signal(syscall.SIGTTIN)
	waitWorkers(t, master, 3)
	// One at a time: the kernel keeps at most one of a signal pending.
	p.cmd.Process.Signal(syscall.SIGTTOU)
	waitWorkers(t, master, 2)
	p.cmd.Process.Signal(syscall.SIGTTOU)
	waitWorkers(t, master, 1)
	if resp, _ := readAll(t, c, "http://"+addr+"/"); resp.StatusCode != 200 {
		t.Errorf("after TTIN and TTOU: %s", resp.Status)
	}
	// The log names the signals as kill(1) does.
	for _, want := range []string{"signal=SIGTTIN workers=3", "signal=SIGTTOU workers=1"} {
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.stderr.String(), want); {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log:\n%s", want, p.stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestCLIHardTimeoutUnderLoad: a request stuck in C past --timeout and
// the grace period gets a 504 and its worker is killed, while the requests
// of the clients around it, some of which ran on that worker, all succeed:
// the worker took no new ones once the request was past its deadline.
func TestCLIHardTimeoutUnderLoad(t *testing.T) {
	addr := freePort(t)
	p := startGowsgi(t, nil, "--bind", addr, "--workers", "2", "--timeout", "1", "--chdir", appDir, "app:app")
	c := &http.Client{Timeout: 30 * time.Second}
	base := "http://" + addr
	waitReady(t, p, c, base+"/")
	stop := hammer(base+"/", 16)
	// time.sleep is in C: the exception raised at the deadline waits
	// for it to return.
	resp, _ := readAll(t, c, base+"/sleep?60")
	ok, failed, statuses := stop()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("a request stuck in C past its deadline: %s, want 504", resp.Status)
	}
	// Lost with the killed worker: 502, or no answer. (A 504 is a
	// request of the load slower than --timeout on a busy machine.)
	if lost := statuses[http.StatusBadGateway] + statuses[0]; lost > 0 || ok == 0 {
		t.Errorf("%d of %d requests beside the stuck one were lost, want none (statuses %v)", lost, ok+failed, statuses)
	}
	if n := strings.Count(p.stderr.String(), "its worker process was killed"); n != 1 {
		t.Errorf("%d workers killed, want 1:\n%s", n, p.stderr.String())
	}
	waitWorkers(t, p.cmd.Process.Pid, 2)
}

// TestCLIMasterKilled: SIGKILL to the master takes its workers with it,
// and the port is free again.
func TestCLIMasterKilled(t *testing.T) {
	addr := freePort(t)
	p := startGowsgi(t, nil, "--bind", addr, "--workers", "2", "--chdir", appDir, "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	waitReady(t, p, c, "http://"+addr+"/")
	pids := waitWorkers(t, p.cmd.Process.Pid, 2)
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(t, 10*time.Second)
	for _, pid := range pids {
		for deadline := time.Now().Add(5 * time.Second); pidAlive(pid); {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d outlived its killed master", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the port is still taken after the master and its workers died: %v", err)
	}
	ln.Close()
}

// TestCLISIGHUPSingleProcess: without worker processes SIGHUP is logged
// and ignored: a request in flight finishes, and the server goes on.
func TestCLISIGHUPSingleProcess(t *testing.T) {
	addr := freePort(t)
	p := startGowsgi(t, nil, "--bind", addr, "--chdir", appDir, "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	base := "http://" + addr
	waitReady(t, p, c, base+"/")
	got := make(chan string, 1)
	go func() {
		_, body := readAll(t, c, base+"/slow?0.5")
		got <- body
	}()
	time.Sleep(100 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGHUP)
	if body := <-got; body != "start\nend\n" {
		t.Errorf("a request in flight across SIGHUP got %q", body)
	}
	if resp, _ := readAll(t, c, base+"/"); resp.StatusCode != 200 || p.exited() {
		t.Errorf("after SIGHUP: %s, exited %v", resp.Status, p.exited())
	}
	if !strings.Contains(p.stderr.String(), "signal ignored") {
		t.Errorf("SIGHUP not logged:\n%s", p.stderr.String())
	}
}
