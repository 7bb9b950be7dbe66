package main

import (
	"math"
	"testing"
)

func TestStatCPU(t *testing.T) {
	for _, c := range []struct {
		name string
		stat string
		want int64
		err  bool
	}{
		{"gowsgi", "4242 (gowsgi) S 1 4242 4242 0 -1 4194560 8811 0 0 0 1500 230 7 3 20 0 35 0 9000 1 2 3", 1500 + 230 + 7 + 3, false},
		// comm with spaces and parentheses: only the last ')' ends it.
		{"odd comm", "77 (wsgi:bench) (x) R 1 77 77 0 -1 0 0 0 0 0 12 34 0 0 20 0 1 0 1", 12 + 34, false},
		{"short", "1 (init) S 0 1", 0, true},
		{"no comm", "garbage", 0, true},
		{"bad number", "1 (a) S 0 1 1 0 -1 0 0 0 0 0 x 1 0 0 20", 0, true},
	} {
		got, err := statCPU([]byte(c.stat))
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%s: statCPU = %d, %v; want %d (error %v)", c.name, got, err, c.want, c.err)
		}
	}
}

func TestCPUPerRequest(t *testing.T) {
	for _, c := range []struct {
		before, after, hz, requests int64
		want                        float64
	}{
		{100, 300, 100, 20000, 100}, // 2 s of CPU for 20,000 requests: 100 µs each
		{0, 150, 100, 3000, 500},
		{5, 5, 100, 10, 0},
		{0, 100, 100, 0, 0},   // nothing completed
		{200, 100, 100, 5, 0}, // a tree that lost a process: no figure
		{0, 100, 0, 5, 0},
	} {
		if got := cpuPerRequestUS(c.before, c.after, c.hz, c.requests); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("cpuPerRequestUS(%d, %d, %d, %d) = %v, want %v", c.before, c.after, c.hz, c.requests, got, c.want)
		}
	}
}
