package wsgi_test

// Worker processes (wsgi.WithProcesses): each supervision rule against
// real worker processes, over real HTTP. testdata/procapp.py answers its
// pid, crashes on request, and reads a version file at import.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

// procServer serves procapp in n worker processes.
func procServer(t *testing.T, n int, opts ...wsgi.Option) (*wsgi.App, string, *recorder) {
	t.Helper()
	app, rec := loadApp(t, "procapp:app", append([]wsgi.Option{wsgi.WithProcesses(n)}, opts...)...)
	return app, serve(t, app).URL, rec
}

// pidOf asks the app which process served a request.
func pidOf(t *testing.T, url string) int {
	t.Helper()
	resp, body := get(t, url+"/pid")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /pid: %s %s", resp.Status, body)
	}
	pid, err := strconv.Atoi(string(body))
	if err != nil {
		t.Fatalf("GET /pid: %q", body)
	}
	return pid
}

// alive reports whether process pid exists (and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// load sends requests to url from n goroutines until stop is called, and
// returns the count of requests that did not get a 200.
func load(t *testing.T, url string, n int) (stop func() (ok, failed int64)) {
	var okN, failN atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				resp, err := http.Get(url)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					failN.Add(1)
				} else {
					okN.Add(1)
				}
			}
		}()
	}
	return func() (int64, int64) {
		close(done)
		wg.Wait()
		return okN.Load(), failN.Load()
	}
}

func TestProcessesServeFromWorkers(t *testing.T) {
	_, url, _ := procServer(t, 2)
	// Two slow requests at once go to the two workers (fewest in flight).
	pids := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			resp, body := get(t, url+"/sleep?s=0.3")
			if resp.StatusCode != 200 {
				t.Errorf("GET /sleep: %s", resp.Status)
			}
			n, _ := strconv.Atoi(string(body))
			pids <- n
		}()
	}
	a, b := <-pids, <-pids
	if a == b || a == os.Getpid() || b == os.Getpid() || a == 0 || b == 0 {
		t.Errorf("two concurrent requests ran in processes %d and %d (this one: %d), want two workers", a, b, os.Getpid())
	}
}

func TestProcessesLoadError(t *testing.T) {
	_, err := wsgi.New("broken_import:app", wsgi.WithPythonPath(testdataDir), wsgi.WithProcesses(2))
	var le *wsgi.LoadError
	if !errors.As(err, &le) || !strings.Contains(le.Traceback, "ModuleNotFoundError") {
		t.Fatalf("New with an app that does not import: %v, want a *wsgi.LoadError with the traceback", err)
	}
	waitNoWorkers(t)
}

// waitNoWorkers fails t if worker processes of this test binary remain.
func waitNoWorkers(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		kids := children(os.Getpid())
		if len(kids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker processes left: %v", kids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// children lists the live child processes of pid.
func children(pid int) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(strings.Split(d, "/")[2])
			out = append(out, n)
		}
	}
	return out
}

// TestProcessesCrash: a worker that segfaults costs its request (502),
// and is replaced; twenty crashes in a row later the app still serves,
// and requests from concurrent clients never all fail.
func TestProcessesCrash(t *testing.T) {
	_, url, rec := procServer(t, 2)
	stop := load(t, url+"/pid", 4)
	for i := 0; i < 20; i++ {
		resp, _ := get(t, url+"/crash")
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("crash %d: %s, want 502 Bad Gateway", i, resp.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ok, failed := stop()
	if ok == 0 {
		t.Errorf("no request served while workers crashed (%d failed)", failed)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, _ := get(t, url+"/pid")
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 crashes: %s, want the app serving", resp.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(rec.Text(), "worker process died") {
		t.Errorf("no crash logged:\n%s", rec.Text())
	}
	t.Logf("while crashing: %d served, %d failed", ok, failed)
}

// TestProcessesRecycleMaxRequests: a worker that has served 10 requests
// is replaced; its replacement starts first, so no request fails.
func TestProcessesRecycleMaxRequests(t *testing.T) {
	_, url, _ := procServer(t, 1, wsgi.WithMaxRequests(10))
	seen := map[int]bool{}
	var mu sync.Mutex
	var failed, served atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				mu.Lock()
				enough := len(seen) >= 4
				mu.Unlock()
				if enough {
					return
				}
				resp, err := http.Get(url + "/sleep?s=0.005")
				if err != nil {
					failed.Add(1)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					continue
				}
				served.Add(1)
				n, _ := strconv.Atoi(string(body))
				mu.Lock()
				seen[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed while workers were recycled", failed.Load(), failed.Load()+served.Load())
	}
	if len(seen) < 4 {
		t.Errorf("%d requests were served by %d processes, want 4 at 10 requests a worker", served.Load(), len(seen))
	}
}

// TestProcessesRecycleMemory: a worker that grows past the cap is
// replaced.
func TestProcessesRecycleMemory(t *testing.T) {
	_, url, _ := procServer(t, 1, wsgi.WithMaxWorkerMemory(200<<20))
	first := pidOf(t, url)
	if resp, _ := get(t, url+"/grow?mb=256"); resp.StatusCode != 200 {
		t.Fatalf("GET /grow: %s", resp.Status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for pidOf(t, url) == first {
		if time.Now().After(deadline) {
			t.Fatal("a worker at 256 MiB more than it started with was not replaced (cap 200 MiB)")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestProcessesReload: Reload under load imports the new version, with
// no failed request; a version that does not import leaves the old one
// serving.
func TestProcessesReload(t *testing.T) {
	vfile := filepath.Join(t.TempDir(), "version")
	write := func(v string) {
		if err := os.WriteFile(vfile, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("one")
	t.Setenv("PROCAPP_VERSION_FILE", vfile)
	app, url, _ := procServer(t, 2)
	version := func() string {
		resp, body := get(t, url+"/version")
		if resp.StatusCode != 200 {
			t.Fatalf("GET /version: %s", resp.Status)
		}
		return string(body)
	}
	if v := version(); v != "one" {
		t.Fatalf("version %q, want one", v)
	}
	old := pidOf(t, url)

	stop := load(t, url+"/sleep?s=0.01", 16)
	write("two")
	if err := app.Reload(context.Background()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	ok, failed := stop()
	if failed > 0 {
		t.Errorf("%d of %d requests failed during the reload", failed, ok+failed)
	}
	if v := version(); v != "two" {
		t.Errorf("after Reload: version %q, want two", v)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(old) {
		if time.Now().After(deadline) {
			t.Fatalf("old worker %d still running after the reload", old)
		}
		time.Sleep(20 * time.Millisecond)
	}

	write("broken")
	err := app.Reload(context.Background())
	if err == nil || !strings.Contains(err.Error(), "does not import") {
		t.Errorf("Reload of a broken version: %v, want the import's error", err)
	}
	if v := version(); v != "two" {
		t.Errorf("after a failed Reload: version %q, want two", v)
	}
}

// TestProcessesDieWithParent: killing the App's process with SIGKILL
// takes its workers with it.
func TestProcessesDieWithParent(t *testing.T) {
	if os.Getenv("PROCAPP_PARENT") != "" {
		t.Skip("run by itself below")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestProcessesParentHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "PROCAPP_PARENT=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// The helper prints its workers' pids, then waits to be killed.
	buf := make([]byte, 4096)
	var text string
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(text, "workers:") || !strings.Contains(text[strings.Index(text, "workers:"):], "\n") {
		n, err := out.Read(buf)
		text += string(buf[:n])
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("helper: %v, said %q", err, text)
		}
	}
	line := text[strings.Index(text, "workers:")+len("workers:"):]
	line = line[:strings.IndexByte(line, '\n')]
	var pids []int
	for _, f := range strings.Fields(line) {
		n, _ := strconv.Atoi(f)
		pids = append(pids, n)
	}
	if len(pids) != 2 {
		t.Fatalf("helper's workers: %q", line)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	deadline = time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d outlived its App's process", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestProcessesParentHelper is the App's process of
// TestProcessesDieWithParent.
func TestProcessesParentHelper(t *testing.T) {
	if os.Getenv("PROCAPP_PARENT") == "" {
		t.Skip("run by TestProcessesDieWithParent")
	}
	app, err := wsgi.New("procapp:app", wsgi.WithPythonPath(testdataDir), wsgi.WithProcesses(2))
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, app)
	pids := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, body := get(t, srv.URL+"/sleep?s=0.3")
			n, _ := strconv.Atoi(string(body))
			pids <- n
		}()
	}
	fmt.Printf("workers: %d %d\n", <-pids, <-pids)
	time.Sleep(time.Minute)
}

// TestProcessesSetProcesses: one worker more, then one fewer.
func TestProcessesSetProcesses(t *testing.T) {
	app, url, _ := procServer(t, 1)
	first := pidOf(t, url)
	if err := app.SetProcesses(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if n := app.Processes(); n != 2 {
		t.Fatalf("Processes() = %d after SetProcesses(2)", n)
	}
	pids := concurrentPids(t, url)
	if len(pids) != 2 {
		t.Errorf("two slow requests at once with two workers ran in %v", pids)
	}
	if err := app.SetProcesses(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	// The second worker drains and stops; the first serves on.
	for pid := range pids {
		if pid == first {
			continue
		}
		deadline := time.Now().Add(10 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d still running after SetProcesses(1)", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if pid := pidOf(t, url); pid != first {
		t.Errorf("after SetProcesses(1): served by %d, want the first worker %d", pid, first)
	}
}

// concurrentPids sends two slow requests at once and returns the
// processes that served them.
func concurrentPids(t *testing.T, url string) map[int]bool {
	t.Helper()
	pids := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, body := get(t, url+"/sleep?s=0.3")
			n, _ := strconv.Atoi(string(body))
			pids <- n
		}()
	}
	return map[int]bool{<-pids: true, <-pids: true}
}

// TestProcessesCrashWithOrphan: a worker's child that outlives it (an
// os.system("... &")) must not hide its death: the next request is served
// by a replacement while the child still runs.
func TestProcessesCrashWithOrphan(t *testing.T) {
	_, url, _ := procServer(t, 1)
	before := map[int]bool{}
	for _, pid := range children(os.Getpid()) {
		before[pid] = true
	}
	if resp, _ := get(t, url+"/orphan"); resp.StatusCode != 200 {
		t.Fatalf("GET /orphan: %s", resp.Status)
	}
	first := pidOf(t, url)
	if resp, _ := get(t, url+"/crash"); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("GET /crash: %s, want 502", resp.Status)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get(url + "/pid")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if n, _ := strconv.Atoi(string(body)); resp.StatusCode == 200 && n != first {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no replacement served while the dead worker's child runs")
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, _ := exec.Command("pgrep", "-f", "^sleep 30$").Output()
	if len(strings.Fields(string(out))) == 0 {
		t.Errorf("the orphaned sleep already ended: the test proved nothing")
	}
	exec.Command("pkill", "-f", "^sleep 30$").Run()
}

// TestProcessesClientGoneWhileQueued: a request whose client leaves while
// it waits in a worker for a thread never reaches the app, as in-process.
// The worker sees its request socket close (the watchdog) and drops it.
func TestProcessesClientGoneWhileQueued(t *testing.T) {
	_, url, _ := procServer(t, 1, wsgi.WithThreads(1))
	slow := make(chan error, 1)
	go func() {
		resp, err := http.Get(url + "/sleep?s=1.5")
		if err == nil {
			resp.Body.Close()
		}
		slow <- err
	}()
	time.Sleep(300 * time.Millisecond) // the one thread is the slow request's
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/mark", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("GET /mark behind the slow request answered %s before its client gave up", resp.Status)
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // a queued /mark would run now
	if _, body := get(t, url+"/marks"); string(body) != "0" {
		t.Errorf("/mark ran %s times in the app after its client had gone, want 0", body)
	}
}
