package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// waitLines waits until read returns at least n lines containing sub and
// returns them: a line is written once the response is done, which may
// be after the client has it.
func waitLines(t *testing.T, read func() string, sub string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []string
		for _, l := range strings.Split(read(), "\n") {
			if strings.Contains(l, sub) {
				got = append(got, l)
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				t.Fatalf("%d lines with %q, want %d; output:\n%s", len(got), sub, n, read())
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func send(t *testing.T, c *http.Client, method, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestCLIAccessLogFormat checks --access-logfile's lines in a format of
// every gunicorn atom, the 413 from --limit-request-body among them.
func TestCLIAccessLogFormat(t *testing.T) {
	addr := freePort(t)
	logFile := filepath.Join(t.TempDir(), "access.log")
	format := `%(m)s|%(U)s|%(q)s|%(H)s|%(r)s|%(s)s|%(B)s|%(b)s|%({x-case}i)s|%({Content-Type}o)s|%({wsgi.url_scheme}e)s|` +
		`%({remote_addr}e)s|%(h)s|%(l)s|%(u)s|%(f)s|%(a)s|%(p)s|%(T)s|%(zz)s|100%%|%(D)s|%(M)s|%(L)s|%(t)s`
	p := startGowsgi(t, nil, "--bind", addr, "--chdir", appDir, "--limit-request-body", "10",
		"--access-logfile", logFile, "--access-logformat", format, "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	base := "http://" + addr
	waitReady(t, p, c, base+"/")
	read := func() string { b, _ := os.ReadFile(logFile); return string(b) }

	pid := "<" + strconv.Itoa(p.cmd.Process.Pid) + ">"
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		want                     string // the line up to %(D)s
	}{
		{"get", "GET", "/hello?a=1&b=%22", "", map[string]string{"User-Agent": `ua "quoted"`, "Referer": "http://r.example/"},
			`GET|/hello|a=1&b=%22|HTTP/1.1|GET /hello?a=1&b=%22 HTTP/1.1|200|7|7|get|text/plain|http|` +
				`127.0.0.1|127.0.0.1|-|-|http://r.example/|ua \"quoted\"|` + pid + `|0|-|100%|`},
		{"echo", "POST", "/echo", "12345", map[string]string{"Authorization": "Basic dXNlcjE6cHc=", "User-Agent": "t"},
			`POST|/echo||HTTP/1.1|POST /echo HTTP/1.1|200|5|5|echo|application/octet-stream|http|` +
				`127.0.0.1|127.0.0.1|-|user1|-|t|` + pid + `|0|-|100%|`},
		{"too large", "POST", "/echo", strings.Repeat("x", 100), map[string]string{"User-Agent": "t"},
			`POST|/echo||HTTP/1.1|POST /echo HTTP/1.1|413|52|52|too large|text/plain; charset=utf-8|http|` +
				`127.0.0.1|127.0.0.1|-|-|-|t|` + pid + `|0|-|100%|`},
	}
	tail := regexp.MustCompile(`^(\d+)\|(\d+)\|(\d+)\.(\d{6})\|\[\d\d/[A-Z][a-z][a-z]/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]$`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"X-Case": tc.name}
			for k, v := range tc.header {
				h[k] = v
			}
			send(t, c, tc.method, base+tc.path, tc.body, h)
			lines := waitLines(t, read, "|"+tc.name+"|", 1)
			line := lines[0]
			if !strings.HasPrefix(line, tc.want) {
				t.Fatalf("line\n%s\nwant it to begin\n%s", line, tc.want)
			}
			m := tail.FindStringSubmatch(line[len(tc.want):])
			if m == nil {
				t.Fatalf("line %q: %q after the fixed atoms", line, line[len(tc.want):])
			}
			us, _ := strconv.ParseInt(m[1], 10, 64)
			ms, _ := strconv.ParseInt(m[2], 10, 64)
			sec, _ := strconv.ParseInt(m[3], 10, 64)
			frac, _ := strconv.ParseInt(m[4], 10, 64)
			if ms != us/1000 || sec*1e6+frac != us {
				t.Errorf("D %d, M %d, L %s.%s disagree", us, ms, m[3], m[4])
			}
		})
	}
}

// TestCLIAccessLogDefault checks gunicorn's default format, on stdout.
func TestCLIAccessLogDefault(t *testing.T) {
	addr := freePort(t)
	p := startGowsgi(t, nil, "--bind", addr, "--chdir", appDir, "--access-logfile", "-", "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	base := "http://" + addr
	waitReady(t, p, c, base+"/")
	send(t, c, "GET", base+"/default-format?x=1", "", map[string]string{"User-Agent": "agent/1", "Referer": "http://r/"})
	line := waitLines(t, p.stderr.String, "/default-format", 1)[0]
	re := regexp.MustCompile(`^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z][a-z]/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] ` +
		`"GET /default-format\?x=1 HTTP/1\.1" 200 7 "http://r/" "agent/1"$`)
	if !re.MatchString(line) {
		t.Errorf("line %q does not match %s", line, re)
	}
}

// TestCLIBadAccessFormat: a broken format fails at start.
func TestCLIBadAccessFormat(t *testing.T) {
	p := startGowsgi(t, nil, "--bind", freePort(t), "--chdir", appDir, "--access-logfile", "-",
		"--access-logformat", "%(h", "app:app")
	if code := p.wait(t, 30*time.Second); code != 2 || !strings.Contains(p.stderr.String(), "--access-logformat") {
		t.Errorf("exit %d; output:\n%s", code, p.stderr.String())
	}
}

func scrape(t *testing.T, c *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	var parser expfmt.TextParser
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return fams
}

// counter is the value of family name's metric with the labels given as
// "k=v" pairs (0 if there is none).
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			return m.GetUntyped().GetValue()
		}
	}
	return 0
}

// TestCLIMetrics checks --metrics-bind: /metrics parses and its counters
// move by exactly the requests sent, pprof and the Python stacks are
// there, and none of it is on the app's port.
func TestCLIMetrics(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		workers int
	}{
		{"in process", nil, 0},
		{"workers", []string{"--workers", "2"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, maddr := freePort(t), freePort(t)
			args := append([]string{"--bind", addr, "--metrics-bind", maddr, "--chdir", appDir,
				"--limit-request-body", "10"}, tc.args...)
			p := startGowsgi(t, nil, append(args, "app:app")...)
			c := &http.Client{Timeout: 20 * time.Second}
			base, mbase := "http://"+addr, "http://"+maddr
			waitReady(t, p, c, base+"/")

			// Not on the app's port: the app answers those paths itself.
			for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pystacks"} {
				if resp, body := readAll(t, c, base+path); resp.StatusCode != 200 || body != "cli ok\n" {
					t.Errorf("app's port, GET %s: %s %q", path, resp.Status, body)
				}
			}
			before := scrape(t, c, mbase+"/metrics")
			const gets, posts, large = 5, 2, 3
			for i := 0; i < gets; i++ {
				send(t, c, "GET", base+"/", "", nil)
			}
			for i := 0; i < posts; i++ {
				send(t, c, "POST", base+"/echo", "abc", nil)
			}
			for i := 0; i < large; i++ {
				if resp := send(t, c, "POST", base+"/echo", strings.Repeat("x", 50), nil); resp.StatusCode != 413 {
					t.Fatalf("a body past the limit: %s", resp.Status)
				}
			}
			want := map[string]float64{"GET/2xx": gets, "POST/2xx": posts, "POST/4xx": large}
			var after map[string]*dto.MetricFamily
			deadline := time.Now().Add(10 * time.Second)
			for {
				after = scrape(t, c, mbase+"/metrics")
				ok := true
				for k, n := range want {
					m, s, _ := strings.Cut(k, "/")
					got := metricValue(after, "gowsgi_requests_total", "method="+m, "status="+s) -
						metricValue(before, "gowsgi_requests_total", "method="+m, "status="+s)
					if got != n {
						ok = false
						if time.Now().After(deadline) {
							t.Errorf("gowsgi_requests_total{%s} moved by %v, want %v", k, got, n)
						}
					}
				}
				if ok || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond) // the last is counted once its handler returns
			}
			if d := metricValue(after, "gowsgi_request_duration_seconds") - metricValue(before, "gowsgi_request_duration_seconds"); d != gets+posts+large {
				t.Errorf("duration histogram moved by %v, want %d", d, gets+posts+large)
			}
			for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "gowsgi_requests_in_flight", "gowsgi_threads"} {
				if after[name] == nil {
					t.Errorf("no %s in /metrics", name)
				}
			}
			if tc.workers > 0 {
				if v := metricValue(after, "gowsgi_workers"); v != float64(tc.workers) {
					t.Errorf("gowsgi_workers %v, want %d", v, tc.workers)
				}
				if n := len(after["gowsgi_worker_resident_memory_bytes"].GetMetric()); n != tc.workers {
					t.Errorf("resident memory of %d workers, want %d", n, tc.workers)
				}
			} else if v := metricValue(after, "gowsgi_python_limit"); v < 1 {
				t.Errorf("gowsgi_python_limit %v", v)
			}

			if resp, body := readAll(t, c, mbase+"/debug/pprof/"); resp.StatusCode != 200 || !strings.Contains(body, "goroutine") {
				t.Errorf("GET /debug/pprof/: %s %.200q", resp.Status, body)
			}
			// A request asleep in Python shows in the stacks, and the
			// server goes on answering meanwhile.
			done := make(chan struct{})
			go func() {
				defer close(done)
				resp, err := c.Get(base + "/sleep?3")
				if err == nil {
					resp.Body.Close()
				}
			}()
			var stacks string
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				_, stacks = readAll(t, c, mbase+"/debug/pystacks")
				if strings.Contains(stacks, "time.sleep(") {
					break
				}
			}
			if !strings.Contains(stacks, "time.sleep(") || !strings.Contains(stacks, "app.py") {
				t.Errorf("/debug/pystacks while a request sleeps:\n%s", stacks)
			}
			if tc.workers > 0 && strings.Count(stacks, "=== worker process ") != tc.workers {
				t.Errorf("/debug/pystacks of %d workers:\n%s", tc.workers, stacks)
			}
			if resp, body := readAll(t, c, base+"/"); resp.StatusCode != 200 || body != "cli ok\n" {
				t.Errorf("GET / while one sleeps: %s %q", resp.Status, body)
			}
			<-done
		})
	}
}

// TestCLIAccessLogReopen: after the log is moved away (rotation), SIGUSR1
// makes the next lines go to a new file at the path.
func TestCLIAccessLogReopen(t *testing.T) {
	addr := freePort(t)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "access.log")
	p := startGowsgi(t, nil, "--bind", addr, "--chdir", appDir, "--access-logfile", logFile, "app:app")
	c := &http.Client{Timeout: 20 * time.Second}
	base := "http://" + addr
	waitReady(t, p, c, base+"/")
	send(t, c, "GET", base+"/before-rotation", "", nil)
	waitLines(t, func() string { b, _ := os.ReadFile(logFile); return string(b) }, "/before-rotation", 1)
	rotated := filepath.Join(dir, "access.log.1")
	if err := os.Rename(logFile, rotated); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	// The reopen is asynchronous: send until a line lands in the new file.
	deadline := time.Now().Add(10 * time.Second)
	for {
		send(t, c, "GET", base+"/after-rotation", "", nil)
		if b, _ := os.ReadFile(logFile); strings.Contains(string(b), "/after-rotation") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line in the reopened log; output:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b, _ := os.ReadFile(rotated); !strings.Contains(string(b), "/before-rotation") {
		t.Errorf("the rotated file lost its line: %q", b)
	}
	if p.exited() {
		t.Errorf("gowsgi exited on SIGUSR1")
	}
}
