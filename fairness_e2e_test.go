package wsgi_test

import (
	"fmt"
	"testing"

	"github.com/gowsgi/wsgi"
)

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
