//go:build !go1.23

package environ

import "net/http"

// requestPattern returns "": before Go 1.23 a request does not record the
// ServeMux pattern that matched it.
func requestPattern(r *http.Request) string { return "" }
