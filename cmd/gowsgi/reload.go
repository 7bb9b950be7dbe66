package main

// --reload: for development, the app is reloaded when one of its Python
// files changes, as with gunicorn's --reload or Django's runserver.

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gowsgi/wsgi"
)

// settle is how long the watcher waits after a change for the next one,
// so that an editor's write-rename-chmod or a git checkout of many files
// reloads once.
const settle = 200 * time.Millisecond

// watchSources reloads app whenever a .py file under the roots, or one of
// the extra files, changes, until ctx is done. The roots are watched
// whole, the directories made later too, except hidden ones,
// __pycache__ and virtual environments.
//
// A reload that fails (a syntax error, say) is logged and the old workers
// go on serving; the next change tries again.
func watchSources(ctx context.Context, app *wsgi.App, roots, extra []string, logger *slog.Logger) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	for _, r := range roots {
		addTree(w, r, logger)
	}
	extras := map[string]bool{}
	for _, f := range extra {
		abs, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		extras[abs] = true
		// The directory, not the file: editors replace files by renaming.
		if err := w.Add(filepath.Dir(abs)); err != nil {
			logger.Warn("--reload-extra-file: cannot watch", "file", f, "err", err)
		}
	}
	logger.Info("reloading the app when its files change", "dirs", roots, "extra", extra)

	var timer <-chan time.Time
	var changed string
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			logger.Warn("--reload: watching files", "err", err)
		case ev := <-w.Events:
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() && watchable(ev.Name) {
					addTree(w, ev.Name, logger)
				}
			}
			abs, _ := filepath.Abs(ev.Name)
			if !extras[abs] && (!strings.HasSuffix(ev.Name, ".py") || !watchable(filepath.Dir(ev.Name))) {
				continue
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			changed = ev.Name
			timer = time.After(settle)
		case <-timer:
			timer = nil
			logger.Info("reloading: a file changed", "file", changed)
			if err := app.Reload(ctx); err != nil {
				logger.Error("reload failed; the app as it was goes on serving", "err", err)
			} else {
				logger.Info("reloaded")
			}
		}
	}
}

// addTree watches dir and the directories under it.
func addTree(w *fsnotify.Watcher, dir string, logger *slog.Logger) {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if path != dir && !watchable(path) {
			return filepath.SkipDir
		}
		if err := w.Add(path); err != nil {
			logger.Warn("--reload: cannot watch", "dir", path, "err", err)
		}
		return nil
	})
}

// watchable reports whether the directory may hold the app's own sources:
// not hidden (.git), not byte code, not a virtual environment or
// node_modules.
func watchable(dir string) bool {
	base := filepath.Base(dir)
	if (strings.HasPrefix(base, ".") && base != "." && base != "..") || base == "__pycache__" || base == "node_modules" {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "pyvenv.cfg"))
	return err != nil
}
