package main

import (
	"path/filepath"
	"testing"

	"github.com/gowsgi/wsgi/examples/internal/progtest"
)

// TestProgram runs the program as the README does, from the repository
// root, and checks that both halves answer.
func TestProgram(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := progtest.Build(t, root, "./examples/flask-migration")
	addr := progtest.FreeAddr(t)
	progtest.Start(t, root, progtest.Environ("API_KEYS"), filepath.Join(bin, "flask-migration"),
		"-addr", addr, "-uploads", t.TempDir(), "-mount", "/legacy/", "-api-keys", "carol:"+aliceToken)
	base := "http://" + addr
	progtest.WaitUp(t, base+"/")

	v := do(t, nil, "GET", base+"/api/v2/whoami", aliceToken, nil).json(t)
	if v["user"] != "carol" || v["served_by"] != "go" {
		t.Errorf("Go: %v", v)
	}
	v = do(t, nil, "GET", base+"/legacy/whoami", aliceToken, nil).json(t)
	if v["remote_user"] != "carol" || v["script_name"] != "/legacy" {
		t.Errorf("Flask: %v", v)
	}
}
