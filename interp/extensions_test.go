package interp_test

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExtensionModules: extension modules load and work in this build,
// whether libpython is linked shared (the default) or static (-tags
// pystatic, where they must find the interpreter's symbols in the binary).
func TestExtensionModules(t *testing.T) {
	app := load(t, "extapp:app")
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, body)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	want := map[string]any{
		"sqlite": 42.0, "sha256": "779e8503", "zlib": 1000.0, "decimal": "3.30",
		"ctypes": 7.0, "ssl": "OpenSSL", "expat": []any{"a", "b"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("extension modules (-want +got):\n%s", diff)
	}
}
