package syncbuf

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentWrites: writers and a reader at once (run with -race);
// every write arrives whole.
func TestConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				fmt.Fprintf(&b, "g%d-%03d\n", g, i)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, l := range lines {
		if len(l) != len("g0-000") {
			t.Errorf("torn line %q", l)
		}
	}
}

func TestZeroValue(t *testing.T) {
	var b Buffer
	if got := b.String(); got != "" {
		t.Errorf("zero Buffer = %q, want empty", got)
	}
	n, err := b.Write([]byte("abc"))
	if n != 3 || err != nil || b.String() != "abc" {
		t.Errorf("Write = %d, %v; String = %q", n, err, b.String())
	}
}
