//go:build go1.23

package environ

import "net/http"

// requestPattern returns the ServeMux pattern that matched r, if any.
func requestPattern(r *http.Request) string { return r.Pattern }
