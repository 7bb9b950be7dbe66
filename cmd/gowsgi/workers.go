package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// With --workers N > 1 the gowsgi process is a master: it opens the
// listeners and runs N copies of itself as workers, each with its own
// Python interpreter (one GIL per process), sharing the listeners through
// inherited descriptors. The master restarts a worker that dies, and on
// SIGTERM or SIGINT passes the signal on and waits for them all.

// workerEnv marks a worker process; its value is the number of inherited
// listeners, at descriptors 3, 4, ...
const workerEnv = "GOWSGI_WORKER_LISTENERS"

// inheritedListeners returns a worker's listeners, or nil in a master or
// single-process server.
func inheritedListeners() ([]net.Listener, error) {
	v := os.Getenv(workerEnv)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("bad %s=%q", workerEnv, v)
	}
	var out []net.Listener
	for i := 0; i < n; i++ {
		f := os.NewFile(uintptr(3+i), "listener")
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("inherited listener %d: %w", i, err)
		}
		out = append(out, ln)
	}
	return out, nil
}

// quickDeath is how soon after its start a worker's exit counts as a
// failure to start (a bad app spec, say) rather than a crash to recover from.
const quickDeath = 3 * time.Second

// runMaster runs cfg.workers workers on listeners until a signal, or until
// a worker fails to start.
func runMaster(cfg *config, listeners []net.Listener, logger *slog.Logger) error {
	var files []*os.File
	for _, ln := range listeners {
		f, err := ln.(interface{ File() (*os.File, error) }).File()
		if err != nil {
			return fmt.Errorf("passing %s to workers: %w", ln.Addr(), err)
		}
		files = append(files, f)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	type exit struct {
		id      int
		err     error
		started time.Time
	}
	exits := make(chan exit)
	var mu sync.Mutex
	procs := make(map[int]*os.Process)
	start := func(id int) error {
		cmd := exec.Command(self, os.Args[1:]...)
		cmd.Env = append(os.Environ(), workerEnv+"="+strconv.Itoa(len(files)), "GOWSGI_WORKER_ID="+strconv.Itoa(id))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.ExtraFiles = files
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting worker %d: %w", id, err)
		}
		mu.Lock()
		procs[id] = cmd.Process
		mu.Unlock()
		logger.Info("worker started", "worker", id, "pid", cmd.Process.Pid)
		t := time.Now()
		go func() { exits <- exit{id, cmd.Wait(), t} }()
		return nil
	}
	for id := 1; id <= cfg.workers; id++ {
		if err := start(id); err != nil {
			return err
		}
	}
	running := cfg.workers
	var failure error
	for running > 0 {
		select {
		case e := <-exits:
			running--
			mu.Lock()
			delete(procs, e.id)
			mu.Unlock()
			if ctx.Err() != nil || failure != nil {
				continue
			}
			if time.Since(e.started) < quickDeath {
				failure = fmt.Errorf("worker %d exited %v after start: not restarting", e.id, e.err)
				logger.Error("worker failed to start; stopping", "worker", e.id, "err", e.err)
				signalAll(&mu, procs, syscall.SIGTERM)
				continue
			}
			logger.Error("worker died; restarting", "worker", e.id, "err", e.err)
			if err := start(e.id); err != nil {
				failure = err
				signalAll(&mu, procs, syscall.SIGTERM)
				continue
			}
			running++
		case <-ctx.Done():
			logger.Info("stopping workers", "timeout", cfg.graceful)
			signalAll(&mu, procs, syscall.SIGTERM)
			stop()
			ctx = context.Background() // nothing more to wait for here
			go func() {
				time.Sleep(cfg.graceful + 5*time.Second)
				signalAll(&mu, procs, syscall.SIGKILL)
			}()
			failure = errShutdown
		}
	}
	if errors.Is(failure, errShutdown) {
		return nil
	}
	return failure
}

var errShutdown = errors.New("shutting down")

func signalAll(mu *sync.Mutex, procs map[int]*os.Process, sig os.Signal) {
	mu.Lock()
	defer mu.Unlock()
	for _, p := range procs {
		p.Signal(sig)
	}
}
