package wsgi_test

// Python threads: concurrency and the threading flags, one Python thread
// for the whole of a request, and fairness behind an app that never
// releases the GIL.

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

func TestPythonThreads(t *testing.T) {
	srv, _ := validatedServer(t)
	key := newCloseID(t)
	if resp, body := get(t, srv.URL+"/thread_start?key="+key); resp.StatusCode != 200 {
		t.Fatalf("%s %s", resp.Status, body)
	}
	// The thread runs while no request is in Python and sets a result a
	// later request reads.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var r struct{ Result *string }
		getJSON(t, srv.URL+"/thread_result?key="+key, &r)
		if r.Result != nil {
			if want := "done by worker-" + key; *r.Result != want {
				t.Errorf("result %q, want %q", *r.Result, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the Python thread started by a request never ran to its end")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConcurrency(t *testing.T) {
	srv, _ := validatedServer(t, wsgi.WithThreads(16))
	// Warm up: connections and the first request's one-time costs.
	get(t, srv.URL+"/sleep?t=0")

	const n = 16
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(srv.URL + "/sleep?t=0.2")
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- resp.Status
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// Run one after another they would take 3.2 s.
	if elapsed > 1600*time.Millisecond {
		t.Errorf("16 requests sleeping 0.2 s each took %v with 16 threads; want well under 3.2 s", elapsed)
	}
	t.Logf("16 × 0.2 s took %v", elapsed)
}

func TestMultithreadFlag(t *testing.T) {
	for _, tc := range []struct {
		name         string
		opts         []wsgi.Option
		thread, proc bool
	}{
		{"WithThreads(1)", []wsgi.Option{wsgi.WithThreads(1)}, false, false},
		{"WithThreads(4)", []wsgi.Option{wsgi.WithThreads(4)}, true, false},
		{"default", nil, true, false},
		{"WithMultiprocess", []wsgi.Option{wsgi.WithThreads(1), wsgi.WithMultiprocess(true)}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := validatedServer(t, tc.opts...)
			var r struct {
				Multithread  any `json:"multithread"`
				Multiprocess any `json:"multiprocess"`
				RunOnce      any `json:"run_once"`
			}
			getJSON(t, srv.URL+"/multithread", &r)
			if r.Multithread != tc.thread || r.Multiprocess != tc.proc || r.RunOnce != false {
				t.Errorf("wsgi.multithread=%v multiprocess=%v run_once=%v, want %v %v false",
					r.Multithread, r.Multiprocess, r.RunOnce, tc.thread, tc.proc)
			}
		})
	}
}

// TestOnePythonThreadPerRequest checks that the app call, every next() and
// close() of one request run on one Python thread (threading.local works,
// as Django's per-thread connections need), with goroutines free to move.
func TestOnePythonThreadPerRequest(t *testing.T) {
	srv, _ := rawServer(t, wsgi.WithThreads(8))
	var wg sync.WaitGroup
	ids := make([]string, 24)
	for i := range ids {
		ids[i] = newCloseID(t)
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			resp, err := client.Get(srv.URL + "/thread_check?id=" + id)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}(ids[i])
	}
	wg.Wait()
	for _, id := range ids {
		var r struct{ Result any }
		deadline := time.Now().Add(5 * time.Second)
		for {
			getJSON(t, srv.URL+"/thread_result?key="+id, &r)
			if r.Result != nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if r.Result != float64(1) {
			t.Errorf("request %s ran on %v Python threads (or lost its threading.local); want 1", id, r.Result)
		}
	}
}

// TestFairnessBehindEndlessLoop: while requests compute in Python and never
// end by themselves, other requests are still served, one after another,
// and a request can even be the one that ends them. The short requests'
// answers say the spins were still running when they were made: the order,
// not a time, is what is asserted.
func TestFairnessBehindEndlessLoop(t *testing.T) {
	for _, tc := range []struct {
		threads, spins int
	}{
		{wsgi.DefaultThreads, 1}, // the default
		{2, 1},                   // one slot left for everyone else
		{8, 3},                   // several computing at once
	} {
		t.Run(fmt.Sprintf("threads=%d,spins=%d", tc.threads, tc.spins), func(t *testing.T) {
			app, _ := loadApp(t, "fairapp:app", wsgi.WithThreads(tc.threads))
			srv := serve(t, app)
			get(t, srv.URL+"/rearm")

			ended := make(chan string, tc.spins)
			for i := 0; i < tc.spins; i++ {
				go func() {
					resp, err := client.Get(srv.URL + "/spin")
					if err != nil {
						ended <- err.Error()
						return
					}
					resp.Body.Close()
					ended <- resp.Status
				}()
			}
			var st struct{ Spinning int }
			for st.Spinning < tc.spins {
				getJSON(t, srv.URL+"/state", &st)
			}
			for i := 0; i < 20; i++ {
				getJSON(t, srv.URL+"/state", &st)
				if st.Spinning != tc.spins {
					t.Fatalf("short request %d: %d spins running, want %d", i, st.Spinning, tc.spins)
				}
			}
			select {
			case s := <-ended:
				t.Fatalf("a spin ended (%s) before it was released", s)
			default:
			}
			get(t, srv.URL+"/release")
			for i := 0; i < tc.spins; i++ {
				if s := <-ended; s != "200 OK" {
					t.Errorf("spin: %s", s)
				}
			}
		})
	}
}
