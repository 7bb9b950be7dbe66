package interp_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gowsgi/wsgi/internal/conformance"
)

// TestStartResponseRules runs every case of the shared conformance table
// through the C start_response: it must raise for exactly the cases
// response.ParseStatus and response.CheckHeader refuse.
func TestStartResponseRules(t *testing.T) {
	app := load(t, "rulesapp:app")
	for _, c := range conformance.Cases {
		q := url.Values{"kind": {c.Kind}}
		name := c.Status
		if c.Kind == "status" {
			q.Set("status", c.Status)
		} else {
			q.Set("name", c.Name)
			q.Set("value", c.Value)
			name = c.Name + ": " + c.Value
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, httptest.NewRequest("GET", "/?"+strings.ReplaceAll(q.Encode(), "+", "%20"), nil))
		var accepted bool
		switch rec.Code {
		case 299:
			accepted = true
		case 298:
		default:
			t.Errorf("%s %q: status %d, body %q", c.Kind, name, rec.Code, rec.Body)
			continue
		}
		if accepted != c.Valid {
			t.Errorf("%s %q: C start_response accepted=%v, want %v (%s)", c.Kind, name, accepted, c.Valid, rec.Body)
		}
	}
}

// TestStartResponseNotLatin1 covers what the latin-1 byte table cannot
// express: strs beyond latin-1, bytes instead of str, wrong containers.
func TestStartResponseNotLatin1(t *testing.T) {
	app := load(t, "rulesapp:nonlatin1")
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "all refused" {
		t.Errorf("got %d %q, want every case refused", rec.Code, rec.Body)
	}
}
