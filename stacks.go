package wsgi

import (
	"errors"
	"io"

	"github.com/gowsgi/wsgi/interp"
)

// DumpStacks writes every Python thread's current traceback to w (from
// sys._current_frames, with threading's names): where each request in
// Python is now, and each of the app's own threads. It does not stop the
// server: it takes the GIL once, like a short request, to format the
// stacks, and writes them with the GIL released. The interpreter is the
// process's, so the threads of all its Apps are shown.
//
// An app in worker processes (WithProcesses) has no Python in this
// process: DumpStacks then returns an error.
func (a *App) DumpStacks(w io.Writer) error {
	if a.procs != nil {
		return errors.New("wsgi: DumpStacks: the app runs in worker processes; their stacks are not reachable from here")
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
