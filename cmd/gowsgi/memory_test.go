package main

// How the server's threads share glibc's heap: one malloc arena, in the
// server and in each worker, unless the environment asks for more.

import (
	"bytes"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCLIMallocArenas loads the server with 64 KiB uploads on many
// threads and asks glibc (malloc_info, through ctypes) how many arenas it
// made: one, unless $MALLOC_ARENA_MAX says otherwise.
func TestCLIMallocArenas(t *testing.T) {
	// Set but empty counts too: malloc.c only asks whether it is set.
	if _, set := os.LookupEnv("MALLOC_ARENA_MAX"); set || strings.Contains(os.Getenv("GLIBC_TUNABLES"), "arena_max") {
		t.Skip("the test's own environment sets the arenas")
	}
	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		wantOne bool
	}{
		{"one process", nil, nil, true},
		{"workers", nil, []string{"--workers", "2"}, true},
		{"MALLOC_ARENA_MAX=8", []string{"MALLOC_ARENA_MAX=8"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freePort(t)
			args := append([]string{"--bind", addr, "--threads", "8", "--chdir", appDir}, tc.args...)
			p := startGowsgi(t, tc.env, append(args, "app:app")...)
			c := &http.Client{Timeout: 20 * time.Second}
			base := "http://" + addr
			waitReady(t, p, c, base+"/")
			body := bytes.Repeat([]byte("0123456789abcdef"), 4096)
			var wg sync.WaitGroup
			for i := 0; i < 16; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := 0; j < 8; j++ {
						resp, err := c.Post(base+"/echo", "application/octet-stream", bytes.NewReader(body))
						if err != nil {
							t.Error(err)
							return
						}
						resp.Body.Close()
					}
				}()
			}
			wg.Wait()
			for i := 0; i < 4; i++ { // with workers, more than one answers
				resp, text := readAll(t, c, base+"/arenas")
				if resp.StatusCode == http.StatusNotFound {
					t.Skip("no malloc_info: not glibc")
				}
				n, err := strconv.Atoi(strings.TrimSpace(text))
				if err != nil {
					t.Fatalf("/arenas: %d %q", resp.StatusCode, text)
				}
				if tc.wantOne && n != 1 {
					t.Errorf("glibc malloc has %d arenas, want 1", n)
				}
				if !tc.wantOne && n < 2 {
					t.Errorf("glibc malloc has %d arena with %v, want more", n, tc.env)
				}
			}
		})
	}
}
