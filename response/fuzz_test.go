package response

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gowsgi/wsgi/internal/conformance"
)

func FuzzParseStatus(f *testing.F) {
	for _, c := range conformance.Cases {
		if c.Kind == "status" {
			f.Add(c.Status)
		}
	}
	f.Fuzz(func(t *testing.T, status string) {
		code, err := ParseStatus(status)
		if err != nil {
			if code != 0 {
				t.Fatalf("ParseStatus(%q) = %d with error %v", status, code, err)
			}
			if !strings.HasPrefix(err.Error(), "response: ") {
				t.Fatalf("ParseStatus(%q): error %q lacks the package prefix", status, err)
			}
			return
		}
		if strings.ContainsAny(status, "\r\n\x00") {
			t.Fatalf("ParseStatus(%q) accepted CR, LF or NUL", status)
		}
		for i := 4; i < len(status); i++ {
			if !isText(status[i]) {
				t.Fatalf("ParseStatus(%q) accepted byte %#02x", status, status[i])
			}
		}
		if code < 200 || code > 599 {
			t.Fatalf("ParseStatus(%q) = %d, outside 200-599", status, code)
		}
		if len(status) < 4 || status[3] != ' ' || status[:3] != strconv.Itoa(code) {
			t.Fatalf("ParseStatus(%q) = %d, not three digits and a space", status, code)
		}
	})
}

func FuzzCheckHeader(f *testing.F) {
	for _, c := range conformance.Cases {
		if c.Kind == "header" {
			f.Add(c.Name, c.Value)
		}
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		err := CheckHeader(name, value)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "response: ") {
				t.Fatalf("CheckHeader(%q, %q): error %q lacks the package prefix", name, value, err)
			}
			return
		}
		if strings.ContainsAny(name+value, "\r\n\x00") {
			t.Fatalf("CheckHeader(%q, %q) accepted CR, LF or NUL", name, value)
		}
		if name == "" {
			t.Fatalf("CheckHeader accepted an empty name")
		}
		for i := 0; i < len(name); i++ {
			if !isTchar(name[i]) {
				t.Fatalf("CheckHeader(%q, %q) accepted name byte %#02x", name, value, name[i])
			}
		}
		for i := 0; i < len(value); i++ {
			if !isText(value[i]) {
				t.Fatalf("CheckHeader(%q, %q) accepted value byte %#02x", name, value, value[i])
			}
		}
		if IsHopByHop(name) {
			t.Fatalf("CheckHeader accepted hop-by-hop header %q", name)
		}
		if strings.EqualFold(name, "Content-Length") {
			if n, err := strconv.ParseUint(value, 10, 63); err != nil {
				t.Fatalf("CheckHeader accepted Content-Length %q (%d, %v)", value, n, err)
			}
		}
	})
}
