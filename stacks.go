package wsgi

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gowsgi/wsgi/internal/wire"
	"github.com/gowsgi/wsgi/interp"
)

// DumpStacks writes every Python thread's current traceback to w (from
// sys._current_frames, with threading's names): where each request in
// Python is now, and each of the app's own threads. It does not stop the
// server: it takes the GIL once, like a short request, to format the
// stacks, and writes them with the GIL released. The interpreter is the
// process's, so the threads of all its Apps are shown.
//
// With WithProcesses, each serving worker is asked for its own, and they
// are written one after another, each under a line naming the worker's
// process id; a worker that does not answer within stacksTimeout is
// named with the error.
func (a *App) DumpStacks(w io.Writer) error {
	if a.procs != nil {
		return a.procs.dumpStacks(w)
	}
	text, err := interp.Stacks()
	if err != nil {
		return err
	}
	if text == "" {
		text = "(no Python thread is running Python code)"
	}
	_, err = io.WriteString(w, text+"\n")
	return err
}

// stacksTimeout is how long DumpStacks waits for a worker's stacks.
const stacksTimeout = 5 * time.Second

// stacksMu makes one DumpStacks of worker processes at a time, so that
// each worker's answer is to the question just asked.
var stacksMu sync.Mutex

// dumpStacks asks every serving worker of the current generation for its
// stacks and writes them to w.
func (p *procs) dumpStacks(w io.Writer) error {
	stacksMu.Lock()
	defer stacksMu.Unlock()
	var asked []*worker
	for _, pl := range p.gen.Load().list() {
		if wk := pl.cur.Load(); wk != nil && wk.state.Load() == serving {
			asked = append(asked, wk)
		}
	}
	if len(asked) == 0 {
		return errors.New("wsgi: DumpStacks: no worker process is serving")
	}
	for _, wk := range asked {
		select {
		case <-wk.stacks: // a late answer to an earlier question
		default:
		}
		wk.ctlMu.Lock()
		wk.ctl.Frame(wire.Stacks)
		err := wk.ctl.Flush()
		wk.ctlMu.Unlock()
		text := ""
		if err != nil {
			text = "(not reachable: " + err.Error() + ")"
		} else {
			select {
			case text = <-wk.stacks:
			case <-wk.exitedCh:
				text = "(it exited)"
			case <-time.After(stacksTimeout):
				text = fmt.Sprintf("(no answer within %v)", stacksTimeout)
			}
		}
		if text == "" {
			text = "(no Python thread is running Python code)"
		}
		if _, err := fmt.Fprintf(w, "=== worker process %d ===\n%s\n", wk.pid, text); err != nil {
			return err
		}
	}
	return nil
}
