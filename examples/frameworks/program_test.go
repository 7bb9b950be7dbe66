package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowsgi/wsgi/examples/internal/progtest"
)

// TestProgram runs the program as the README does, from the repository
// root, and asks each framework for a page.
func TestProgram(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := progtest.Build(t, root, "./examples/frameworks")
	addr := progtest.FreeAddr(t)
	progtest.Start(t, root, nil, filepath.Join(bin, "frameworks"), "-addr", addr)
	base := "http://" + addr
	progtest.WaitUp(t, base+"/")
	for _, m := range mounts {
		resp, err := http.Get(base + m.Prefix + "hello/you")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"greeting": "hello, you"`) && !strings.Contains(string(b), `"greeting":"hello, you"`) {
			t.Errorf("%s: %s %s", m.Framework, resp.Status, b)
		}
	}
}
