package interp_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gowsgi/wsgi"
)

func TestMain(m *testing.M) {
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := wsgi.Shutdown(ctx); err != nil {
		slog.Error("shutdown", "err", err)
		code = 1
	}
	os.Exit(code)
}

// load loads spec from testdata, closing it when the test ends.
func load(t testing.TB, spec string, opts ...wsgi.Option) *wsgi.App {
	t.Helper()
	dir, _ := filepath.Abs("testdata")
	opts = append([]wsgi.Option{wsgi.WithPythonPath(dir)}, opts...)
	app, err := wsgi.New(spec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close(context.Background()) })
	return app
}
