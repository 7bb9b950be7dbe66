package wsgi_test

import (
	"strings"
	"testing"
	"time"
)

// TestDumpStacks: a request asleep in Python shows in App.DumpStacks,
// while the app goes on serving.
func TestDumpStacks(t *testing.T) {
	app, _ := loadApp(t, "rawapp:app")
	srv := serve(t, app)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := client.Get(srv.URL + "/sleep?t=3")
		if err == nil {
			resp.Body.Close()
		}
	}()
	var stacks string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var b strings.Builder
		if err := app.DumpStacks(&b); err != nil {
			t.Fatal(err)
		}
		stacks = b.String()
		if strings.Contains(stacks, "in r_sleep") {
			break
		}
	}
	if !strings.Contains(stacks, "in r_sleep") || !strings.Contains(stacks, "rawapp.py") || !strings.Contains(stacks, "Thread ") {
		t.Errorf("DumpStacks while a request sleeps:\n%s", stacks)
	}
	// With worker processes, each worker's stacks come under its pid.
	if testProcesses > 0 && strings.Count(stacks, "=== worker process ") != testProcesses {
		t.Errorf("DumpStacks of %d worker processes:\n%s", testProcesses, stacks)
	}
	if resp, body := get(t, srv.URL+"/head"); resp.StatusCode != 200 || len(body) != 100 {
		t.Errorf("GET /head while one sleeps: %s", resp.Status)
	}
	<-done
}
