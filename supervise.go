package wsgi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gowsgi/wsgi/internal/wire"
	"github.com/gowsgi/wsgi/interp"
)

// procs runs an App's workers (WithProcesses). Its workers form a
// generation, one worker per place; Reload replaces the generation.
//
// A worker's life: started (startWorker) until it says Ready, then
// serving; draining once a replacement serves in its place (recycling,
// Reload, Close), and stopped when its last request ended; exited when its
// process is gone. Each place has a keeper (keep) that starts a new worker
// when the one there dies, immediately the first time and with back-off
// while they keep dying young.
type procs struct {
	a      *App
	exe    string
	dir    string
	config string // the workers' workerConfig, as JSON

	gen      atomic.Pointer[generation]
	reloadMu sync.Mutex    // one Reload or SetProcesses at a time
	n        int           // workers in a generation; reloadMu held
	turn     atomic.Uint32 // where pick begins

	// For metrics: workers that died while serving (and were replaced),
	// and workers recycled (WithMaxRequests, WithMaxWorkerMemory).
	deaths, recycles atomic.Int64

	mu          sync.Mutex
	ready       chan struct{} // closed, and replaced, when a worker starts serving
	closed      bool
	live        map[*worker]struct{} // every worker process not yet exited
	stopMonitor chan struct{}
}

// A generation is the workers of one import of the app.
type generation struct {
	places  atomic.Pointer[[]*place] // copied on change (SetProcesses)
	retired chan struct{}            // closed when a newer generation (or Close) replaced it
	once    sync.Once
}

func (g *generation) list() []*place { return *g.places.Load() }

// A place holds one worker of a generation: the one serving, or the last
// one, dead, while its keeper starts another.
type place struct {
	cur  atomic.Pointer[worker]
	stop chan struct{} // closed when the place goes (its generation retires, or SetProcesses)
	once sync.Once

	mu      sync.Mutex
	changed chan struct{} // closed, and replaced, when cur changes
}

func newPlace() *place { return &place{stop: make(chan struct{}), changed: make(chan struct{})} }

// swap puts nw in place of old, as CompareAndSwap, and wakes the keeper.
// A place that has gone gets no worker: nw is drained.
func (pl *place) swap(old, nw *worker) bool {
	if !pl.cur.CompareAndSwap(old, nw) {
		return false
	}
	pl.mu.Lock()
	close(pl.changed)
	pl.changed = make(chan struct{})
	pl.mu.Unlock()
	select {
	case <-pl.stop:
		nw.drain() // remove loaded cur before this swap
	default:
	}
	return true
}

func (pl *place) changes() <-chan struct{} {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.changed
}

// remove ends the place: its keeper returns and its worker drains.
func (pl *place) remove() {
	pl.once.Do(func() {
		close(pl.stop)
		if wk := pl.cur.Load(); wk != nil {
			wk.drain()
		}
	})
}

// Worker states.
const (
	starting int32 = iota
	serving
	draining
	exited
)

// worker is one worker process, as its App sees it.
type worker struct {
	p     *procs
	gen   *generation
	place *place
	cmd   *exec.Cmd
	pid   int

	ctlMu sync.Mutex // writes to ctl
	ctl   *wire.Conn

	connMu sync.Mutex
	idle   []*wire.Conn // request sockets between requests, latest last

	state     atomic.Int32
	inflight  atomic.Int64
	served    atomic.Int64
	maxServed int64 // recycle at this many requests; 0 never

	ready    chan error    // its first word: nil for Ready
	stacks   chan string   // its answers to Stacks (App.DumpStacks)
	gate     chan []byte   // its answers to Gate (App.Collect)
	exitedCh chan struct{} // closed once its process is gone
	exitErr  error

	stopOnce, retireOnce sync.Once
}

const (
	// gracefulStop is how long a stopping worker may take to finish
	// before it is killed.
	gracefulStop = 30 * time.Second
	// A worker that dies having served no request is restarted later each
	// time, from firstBackoff up to maxBackoff; one that served a request
	// is replaced at once (a request killed it, not the app's start).
	firstBackoff = 100 * time.Millisecond
	// readyTimeout bounds a worker's start, the app's import included.
	readyTimeout = 2 * time.Minute
	maxBackoff   = 10 * time.Second
)

// startProcs starts a's workers and waits until they all serve. If one
// cannot load the app, the others are stopped and its error returned.
func startProcs(a *App) (*procs, error) {
	exe, err := os.Executable()
	if _, serr := os.Stat("/proc/self/exe"); err == nil && serr == nil {
		// The running program itself, even if a deploy has replaced the
		// file at its path since it started.
		exe = "/proc/self/exe"
	}
	if err != nil {
		return nil, fmt.Errorf("wsgi: WithProcesses needs the program's executable to start workers: %w", err)
	}
	dir, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("wsgi: %w", err)
	}
	o := a.opt
	level := slog.LevelError + 4
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if a.log.Enabled(context.Background(), l) {
			level = l
			break
		}
	}
	cfg, err := json.Marshal(workerConfig{
		Spec: a.spec, Parent: os.Getpid(), Threads: o.threads, Fixed: o.fixed, QueueTimeout: o.queueTimeout,
		InterruptOnDisconnect: o.interruptGone,
		PythonPath:            o.pythonPath, Venv: o.venv, LogLevel: level,
		Multiprocess: o.multiprocess || o.processes > 1,
	})
	if err != nil {
		return nil, err
	}
	p := &procs{a: a, exe: exe, dir: dir, config: string(cfg), ready: make(chan struct{}), n: o.processes,
		live: map[*worker]struct{}{}}
	g, err := p.startGeneration(context.Background())
	if err != nil {
		return nil, err
	}
	p.gen.Store(g)
	if o.maxWorkerMemory > 0 {
		p.stopMonitor = make(chan struct{})
		go p.monitor(o.maxWorkerMemory)
	}
	return p, nil
}

// startGeneration starts a generation of workers and waits until all of
// them serve.
func (p *procs) startGeneration(ctx context.Context) (*generation, error) {
	g := &generation{retired: make(chan struct{})}
	places := make([]*place, p.n)
	g.places.Store(&places)
	errs := make([]error, len(places))
	var wg sync.WaitGroup
	for i := range places {
		places[i] = newPlace()
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			wk, err := p.startWorker(ctx, g, places[i])
			if err == nil {
				places[i].cur.Store(wk)
			}
			errs[i] = err
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		var le *interp.LoadError
		if errors.As(err, &le) {
			err = le // the same traceback from every worker: once is enough
		}
		g.retire()
		return nil, err
	}
	for _, pl := range places {
		go p.keep(pl)
	}
	p.notify()
	return g, nil
}

// retire stops the generation: its keepers return, and its workers drain.
func (g *generation) retire() {
	g.once.Do(func() {
		close(g.retired)
		for _, pl := range g.list() {
			pl.remove()
		}
	})
}

// spawner starts processes from one OS thread that never exits: a child's
// PR_SET_PDEATHSIG fires when the thread that forked it ends, not the
// process.
var spawner = sync.OnceValue(func() chan func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread() // for good: this thread never ends
		for f := range ch {
			f()
		}
	}()
	return ch
})

// startWorker starts a worker process for place pl of g and waits until it
// serves, its load fails, it dies, or ctx ends.
func (p *procs) startWorker(ctx context.Context, g *generation, pl *place) (*worker, error) {
	mine, theirs, err := wire.Pair()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.exe)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), workerEnv+"="+p.config)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	done := make(chan error)
	spawner() <- func() { done <- cmd.Start() }
	err = <-done
	theirs.Close()
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("wsgi: starting a worker process: %w", err)
	}
	ctl, err := wire.FileConn(mine)
	mine.Close()
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	wk := &worker{p: p, gen: g, place: pl, cmd: cmd, pid: cmd.Process.Pid, ctl: ctl,
		ready: make(chan error, 1), stacks: make(chan string, 1), gate: make(chan []byte, 1), exitedCh: make(chan struct{})}
	if n := int64(p.a.opt.maxRequests); n > 0 {
		wk.maxServed = n + rand.Int64N(int64(p.a.opt.maxRequestsJitter)+1)
	}
	p.mu.Lock()
	p.live[wk] = struct{}{}
	p.mu.Unlock()
	go wk.control()
	timeout := time.NewTimer(readyTimeout)
	defer timeout.Stop()
	select {
	case err = <-wk.ready:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout.C:
		err = fmt.Errorf("wsgi: worker process for %q not ready after %v: the app's import hangs, or %s is not a Go program that imports package wsgi",
			p.a.spec, readyTimeout, p.exe)
	}
	if err != nil {
		wk.kill()
		<-wk.exitedCh
		return nil, err
	}
	if !wk.state.CompareAndSwap(starting, serving) {
		<-wk.exitedCh
		return nil, fmt.Errorf("wsgi: worker process for %q exited as it began to serve: %v", p.a.spec, wk.exitErr)
	}
	p.a.log.Debug("gowsgi: worker process serving", "pid", wk.pid, "spec", p.a.spec)
	return wk, nil
}

// control reads the worker's control socket until it closes, then waits
// for the process to end.
func (wk *worker) control() {
	log := wk.p.a.log
	// The process's end, not the socket's, is the worker's: a child the
	// app started may hold the socket open longer.
	waited := make(chan struct{})
	go func() {
		wk.exitErr = wk.cmd.Wait()
		close(waited)
		wk.ctl.Abort()
	}()
	for {
		t, payload, err := wk.ctl.Next()
		if err != nil {
			break
		}
		switch t {
		case wire.Ready:
			wk.ready <- nil
		case wire.LoadError:
			wk.ready <- loadError(wk.p.a.spec, string(payload))
		case wire.GateState:
			select {
			case wk.gate <- append([]byte(nil), payload...):
			default:
			}
		case wire.StackDump:
			select {
			case wk.stacks <- string(payload):
			default: // no one asked, or gave up waiting
			}
		case wire.Log:
			var rec logRecord
			if json.Unmarshal(payload, &rec) != nil {
				continue
			}
			attrs := make([]any, 0, len(rec.Attrs)+2)
			attrs = append(attrs, "pid", wk.pid)
			for _, a := range rec.Attrs {
				attrs = append(attrs, a)
			}
			log.Log(context.Background(), rec.Level, rec.Msg, attrs...)
		}
	}
	<-waited
	wk.ctl.Close()
	wk.p.mu.Lock()
	delete(wk.p.live, wk)
	wk.p.mu.Unlock()
	wk.state.Store(exited)
	select {
	case wk.ready <- fmt.Errorf("wsgi: worker process for %q exited before it served: %v", wk.p.a.spec, wk.exitErr):
	default:
	}
	wk.dropIdle()
	close(wk.exitedCh)
}

// loadError rebuilds the *interp.LoadError a worker reported as text.
func loadError(spec, msg string) error {
	prefix := fmt.Sprintf("loading WSGI app %q:\n", spec)
	if tb, ok := strings.CutPrefix(msg, prefix); ok {
		return &interp.LoadError{Spec: spec, Traceback: tb}
	}
	return fmt.Errorf("wsgi: worker process: %s", msg)
}

// keep replaces the worker at pl when it dies, until the place goes.
func (p *procs) keep(pl *place) {
	fails := 0
	for {
		wk, changed := pl.cur.Load(), pl.changes()
		select {
		case <-wk.exitedCh:
		case <-changed:
			continue // recycled: watch its replacement
		case <-pl.stop:
			return
		}
		if pl.cur.Load() != wk {
			continue // recycled: its replacement is in place
		}
		if p.isClosed() {
			return
		}
		select {
		case <-pl.stop:
			return
		default:
		}
		if wk.served.Load() > 0 {
			fails = 0 // it served: a request killed it, not the app's start
		} else {
			fails++
		}
		p.deaths.Add(1)
		p.a.log.Error("gowsgi: worker process died; starting another", "pid", wk.pid, "err", wk.exitErr,
			"served", wk.served.Load())
		for {
			if !sleep(backoff(fails), pl.stop) {
				return
			}
			nw, err := p.startWorker(context.Background(), wk.gen, pl)
			if err == nil {
				if !pl.swap(wk, nw) {
					nw.drain() // recycling put one there meanwhile
				}
				p.notify()
				break
			}
			fails++
			p.a.log.Error("gowsgi: worker process failed to start; trying again", "err", err,
				"in", backoff(fails))
		}
	}
}

// backoff is how long to wait before starting a worker after fails deaths
// in a row of young workers: none the first time.
func backoff(fails int) time.Duration {
	if fails <= 1 {
		return 0
	}
	return min(firstBackoff<<min(fails-2, 16), maxBackoff)
}

// sleep waits d, or until stop closes; it reports whether d passed.
func sleep(d time.Duration, stop <-chan struct{}) bool {
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// recycle replaces wk (once): a new worker is started in its place and
// takes new requests once it serves; then wk drains and stops.
func (p *procs) recycle(wk *worker, why string) {
	wk.retireOnce.Do(func() {
		p.recycles.Add(1)
		go func() {
			p.a.log.Info("gowsgi: recycling worker process", "pid", wk.pid, "why", why,
				"served", wk.served.Load())
			for fails := 0; ; fails++ {
				if !sleep(backoff(fails), wk.place.stop) {
					return
				}
				nw, err := p.startWorker(context.Background(), wk.gen, wk.place)
				if err != nil {
					p.a.log.Error("gowsgi: replacement worker process failed to start", "err", err)
					continue
				}
				if !wk.place.swap(wk, nw) {
					nw.drain() // wk died and its keeper replaced it
					return
				}
				p.notify()
				wk.drain()
				return
			}
		}()
	})
}

// retire takes wk out of service for a request stuck in it past its
// deadline: a replacement starts (recycle), and if another worker serves
// meanwhile, wk takes no new request from now on rather than once the
// replacement serves. A worker already draining or gone is left alone.
func (p *procs) retire(wk *worker) {
	if wk.state.Load() != serving {
		return
	}
	p.recycle(wk, "a request still running past its deadline")
	for _, pl := range p.gen.Load().list() {
		if other := pl.cur.Load(); other != nil && other != wk && other.state.Load() == serving {
			wk.drain()
			return
		}
	}
}

func (p *procs) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// notify wakes the requests waiting for a worker.
func (p *procs) notify() {
	p.mu.Lock()
	close(p.ready)
	p.ready = make(chan struct{})
	p.mu.Unlock()
}

// acquire picks the serving worker with the fewest requests in flight and
// a request socket to it, waiting for one to serve up to the queue
// timeout. It returns the status to answer when there is none (0: ctx
// ended).
func (p *procs) acquire(ctx context.Context) (wk *worker, c *wire.Conn, status int) {
	var timeout <-chan time.Time
	for {
		p.mu.Lock()
		ready, closed := p.ready, p.closed
		p.mu.Unlock()
		if closed {
			return nil, nil, 503
		}
		if wk := p.pick(); wk != nil {
			c, err := wk.conn()
			if err == nil {
				return wk, c, 0
			}
			wk.release(nil)
			if errors.Is(err, errControl) {
				// Dead or dying: its keeper replaces it once it has
				// exited.
				p.a.log.Debug("gowsgi: no request socket to a worker", "pid", wk.pid, "err", err)
				wk.drain()
				continue
			}
			p.a.log.Error("gowsgi: no request socket to a worker process; answered 503", "err", err)
			return nil, nil, 503
		}
		if timeout == nil {
			t := time.NewTimer(p.a.opt.queueTimeout)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ready:
		case <-timeout:
			p.a.log.Warn("no worker process serving within the queue timeout; answered 503",
				"timeout", p.a.opt.queueTimeout)
			return nil, nil, 503
		case <-ctx.Done():
			return nil, nil, doneStatus(ctx)
		}
	}
}

// pick returns the serving worker of the current generation with the
// fewest requests in flight, counting the caller's, or nil. Ties go round
// the workers in turn.
func (p *procs) pick() *worker {
	for {
		places := p.gen.Load().list()
		start := int(p.turn.Add(1))
		var best *worker
		var least int64
		for i := range places {
			wk := places[(start+i)%len(places)].cur.Load()
			if wk == nil || wk.state.Load() != serving {
				continue
			}
			if n := wk.inflight.Load(); best == nil || n < least {
				best, least = wk, n
			}
		}
		if best == nil {
			return nil
		}
		best.inflight.Add(1)
		if best.state.Load() == serving {
			return best
		}
		best.release(nil) // it began to drain meanwhile
	}
}

// conn returns an idle request socket to wk, or a new one.
func (wk *worker) conn() (*wire.Conn, error) {
	wk.connMu.Lock()
	if n := len(wk.idle); n > 0 {
		c := wk.idle[n-1]
		wk.idle = wk.idle[:n-1]
		wk.connMu.Unlock()
		return c, nil
	}
	wk.connMu.Unlock()
	mine, theirs, err := wire.Pair()
	if err != nil {
		return nil, err
	}
	defer mine.Close()
	defer theirs.Close()
	wk.ctlMu.Lock()
	wk.ctl.Frame(wire.Socket)
	err = wk.ctl.FlushFile(theirs)
	wk.ctlMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: passing a socket to worker %d: %w", errControl, wk.pid, err)
	}
	return wire.FileConn(mine)
}

// errControl is wrapped by conn's error when the worker's control socket
// failed: the worker is gone.
var errControl = errors.New("wsgi: worker's control socket failed")

// dropIdle closes wk's idle request sockets.
func (wk *worker) dropIdle() {
	wk.connMu.Lock()
	for _, c := range wk.idle {
		c.Close()
	}
	wk.idle = nil
	wk.connMu.Unlock()
}

// release ends a request on wk, keeping c for the next when it is not nil.
func (wk *worker) release(c *wire.Conn) {
	if c != nil {
		wk.connMu.Lock()
		if wk.state.Load() == serving {
			wk.idle = append(wk.idle, c)
			c = nil
		}
		wk.connMu.Unlock()
		if c != nil {
			c.Close()
		}
		if n := wk.served.Add(1); wk.maxServed > 0 && n >= wk.maxServed {
			wk.p.recycle(wk, "max requests")
		}
	}
	if wk.inflight.Add(-1) == 0 && wk.state.Load() == draining {
		wk.stop()
	}
}

// drain takes wk out of service: it gets no new requests and stops when
// its last one ends.
func (wk *worker) drain() {
	if !wk.state.CompareAndSwap(serving, draining) {
		if wk.state.Load() == starting {
			wk.kill()
		}
		return
	}
	wk.dropIdle()
	if wk.inflight.Load() == 0 {
		wk.stop()
	}
}

// stop asks wk to stop (once): it finishes, shuts Python down and exits,
// or is killed after gracefulStop.
func (wk *worker) stop() {
	wk.stopOnce.Do(func() {
		wk.ctlMu.Lock()
		wk.ctl.Frame(wire.Stop)
		wk.ctl.Flush()
		wk.ctlMu.Unlock()
		go func() {
			if !sleep(gracefulStop, wk.exitedCh) {
				return
			}
			wk.p.a.log.Warn("gowsgi: worker process did not stop in time; killed", "pid", wk.pid)
			wk.kill()
		}()
	})
}

func (wk *worker) kill() { wk.cmd.Process.Signal(syscall.SIGKILL) }

// monitor recycles workers whose resident memory passes max bytes.
func (p *procs) monitor(max int64) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-p.stopMonitor:
			return
		}
		for _, pl := range p.gen.Load().list() {
			wk := pl.cur.Load()
			if wk == nil || wk.state.Load() != serving {
				continue
			}
			if rss := residentMemory(wk.pid); rss > max {
				p.recycle(wk, "memory "+strconv.FormatInt(rss>>20, 10)+" MiB")
			}
		}
	}
}

// residentMemory reports a process's resident memory in bytes, from
// /proc (0 where there is none).
func residentMemory(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// reload starts a new generation and, once it serves, drains the old.
func (p *procs) reload(ctx context.Context) error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	g, err := p.startGeneration(ctx)
	if err != nil {
		return fmt.Errorf("wsgi: reloading %s failed; the running workers go on serving: %w", p.a.spec, err)
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		g.retire()
		return ErrClosed
	}
	old := p.gen.Swap(g)
	old.retire()
	p.a.log.Info("gowsgi: reloaded", "spec", p.a.spec)
	return nil
}

// resize sets how many workers the generation has: new ones are started
// (and serve once they are ready), or the last ones drain and stop.
func (p *procs) resize(ctx context.Context, n int) error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	g := p.gen.Load()
	old := g.list()
	if n < len(old) {
		keep := append([]*place(nil), old[:n]...)
		g.places.Store(&keep)
		for _, pl := range old[n:] {
			pl.remove()
		}
		p.n = n
		return nil
	}
	for len(g.list()) < n {
		pl := newPlace()
		wk, err := p.startWorker(ctx, g, pl)
		if err != nil {
			return fmt.Errorf("wsgi: adding a worker process: %w", err)
		}
		pl.cur.Store(wk)
		grown := append(append([]*place(nil), g.list()...), pl)
		g.places.Store(&grown)
		go p.keep(pl)
		p.n = len(grown)
		p.notify()
	}
	return nil
}

// close stops every worker: new requests get 503, those in flight finish
// or ctx ends (then the workers are killed).
func (p *procs) close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.notify()
	if p.stopMonitor != nil {
		close(p.stopMonitor)
	}
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	p.gen.Load().retire()
	// Every worker, those of an older generation or recycled and still
	// draining included.
	p.mu.Lock()
	alive := make([]*worker, 0, len(p.live))
	for wk := range p.live {
		alive = append(alive, wk)
	}
	p.mu.Unlock()
	for _, wk := range alive {
		select {
		case <-wk.exitedCh:
		case <-ctx.Done():
			n := 0
			for _, wk := range alive {
				n += int(wk.inflight.Load())
				wk.kill()
			}
			return fmt.Errorf("wsgi: closing %s: %d requests still running; workers killed: %w", p.a.spec, n, ctx.Err())
		}
	}
	return nil
}
