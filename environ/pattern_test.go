//go:build go1.23

package environ

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func setPattern(r *http.Request, pattern string) { r.Pattern = pattern }

func TestBuildPattern(t *testing.T) {
	tests := []struct {
		pattern  string
		target   string
		script   string
		pathInfo string
	}{
		{"/legacy/", "/legacy/x", "/legacy", "/x"},
		{"/legacy/", "/legacy/", "/legacy", "/"},
		{"/legacy/", "/legacy/a%2Fb?q", "/legacy", "/a/b"},
		{"GET /legacy/", "/legacy/x", "/legacy", "/x"},
		{"POST \t/legacy/", "/legacy/x", "/legacy", "/x"},
		{"example.com/legacy/", "/legacy/x/y", "/legacy", "/x/y"},
		{"GET example.com/legacy/{rest...}", "/legacy/a/b", "/legacy", "/a/b"},
		{"/legacy/{$}", "/legacy/", "/legacy", "/"},
		{"/items/{id}", "/items/42", "/items", "/42"},
		{"/a/b/", "/a/b/c", "/a/b", "/c"},
		{"/api", "/api", "/api", ""},
		{"/a%20b/", "/a%20b/c", "/a b", "/c"},
		{"/", "/x", "", "/x"},
		{"GET /", "/x", "", "/x"},
		{"", "/x", "", "/x"},
		{"/{name}", "/x", "", "/x"},
		{"/legacy/", "/legacyx", "", "/legacyx"},
		{"/legacy/", "/other", "", "/other"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.target, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			r.Pattern = tt.pattern
			got, _ := env(t, r, nil)
			check(t, got, map[string]string{"SCRIPT_NAME": tt.script, "PATH_INFO": tt.pathInfo})
		})
	}

	// An explicit mount point wins over the pattern.
	r := httptest.NewRequest("GET", "/legacy/x", nil)
	r.Pattern = "/legacy/"
	got, _ := env(t, r, &Options{ScriptNameSet: true})
	check(t, got, map[string]string{"SCRIPT_NAME": "", "PATH_INFO": "/legacy/x"})
}

func TestBuildServeMux(t *testing.T) {
	var got map[string]string
	capture := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got, _ = env(t, r, nil) })
	inner := http.NewServeMux()
	inner.Handle("/v1/", capture)

	mux := http.NewServeMux()
	mux.Handle("/legacy/", capture)
	mux.Handle("GET example.com/api/{rest...}", capture)
	mux.Handle("/strip/", http.StripPrefix("/strip", capture))
	mux.Handle("/a/", http.StripPrefix("/a", capture))
	mux.Handle("/outer/", http.StripPrefix("/outer", inner))
	mux.Handle("/", capture)

	tests := []struct {
		target   string
		script   string
		pathInfo string
	}{
		{"/legacy/x", "/legacy", "/x"},
		{"/legacy/", "/legacy", "/"},
		{"/legacy/x%2Fy%00", "/legacy", "/x/y\x00"},
		{"http://example.com/api/v2/users", "/api", "/v2/users"},
		{"http://other.org/api/v2/users", "", "/api/v2/users"}, // other host: routed to "/"
		{"/strip/x", "/strip", "/x"},
		{"/a/a/x", "/a", "/a/x"},
		{"/outer/v1/x", "/outer/v1", "/x"},
		{"/other", "", "/other"},
		{"/", "", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			got = nil
			mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tt.target, nil))
			if got == nil {
				t.Fatal("handler not reached")
			}
			check(t, got, map[string]string{"SCRIPT_NAME": tt.script, "PATH_INFO": tt.pathInfo})
		})
	}
}
