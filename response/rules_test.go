package response

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gowsgi/wsgi/internal/conformance"
)

func TestCases(t *testing.T) {
	for _, c := range conformance.Cases {
		switch c.Kind {
		case "status":
			code, err := ParseStatus(c.Status)
			if c.Valid {
				if err != nil {
					t.Errorf("ParseStatus(%q) = %v, want it accepted", c.Status, err)
					continue
				}
				want, _ := strconv.Atoi(c.Status[:3])
				if code != want {
					t.Errorf("ParseStatus(%q) = %d, want %d", c.Status, code, want)
				}
				continue
			}
			if err == nil {
				t.Errorf("ParseStatus(%q) = %d, nil; want an error", c.Status, code)
				continue
			}
			if code != 0 {
				t.Errorf("ParseStatus(%q) = %d with error; want 0", c.Status, code)
			}
			checkMessage(t, err.Error(), c.Status)
		case "header":
			err := CheckHeader(c.Name, c.Value)
			if c.Valid {
				if err != nil {
					t.Errorf("CheckHeader(%q, %q) = %v, want it accepted", c.Name, c.Value, err)
				}
				continue
			}
			if err == nil {
				t.Errorf("CheckHeader(%q, %q) = nil, want an error", c.Name, c.Value)
				continue
			}
			if c.Name != "" {
				checkMessage(t, err.Error(), c.Name, c.Value)
			}
		default:
			t.Errorf("case %+v: unknown Kind %q", c, c.Kind)
		}
	}
}

// checkMessage checks that an error message starts with the package name,
// quotes one of the offending values (clipped) and stays short.
func checkMessage(t *testing.T, msg string, values ...string) {
	t.Helper()
	if !strings.HasPrefix(msg, "response: ") {
		t.Errorf("error %q does not start with \"response: \"", msg)
	}
	quoted := false
	for _, v := range values {
		if strings.Contains(msg, strconv.Quote(clip(v))) {
			quoted = true
		}
	}
	if !quoted {
		t.Errorf("error %q quotes none of %q", msg, values)
	}
	if len(msg) > 300 {
		t.Errorf("error is %d bytes long: %q", len(msg), msg)
	}
}

// TestCasesRequired guards the conformance table: these cases were agreed
// on with the C implementation and must stay in it with this verdict.
func TestCasesRequired(t *testing.T) {
	statuses := map[string]bool{
		"200 OK": true, "200 ": true, "404 Not Found": true, "599 x": true,
		"200 caf\xe9": true,
		"200":         false, "20 OK": false, "2000 OK": false, "099 x": false,
		"600 x": false, "199 x": false, "abc OK": false, " 200 OK": false,
		"200\tOK": false, "200 OK\r\n": false, "200 O\nK": false, "200 OK\x00": false,
	}
	type hdr struct{ name, value string }
	headers := map[hdr]bool{
		{"X Y", "1"}: false, {"X:Y", "1"}: false, {"", "1"}: false,
		{"X_Y", "1"}: true, {"Content-Type", "text/plain; charset=utf-8"}: true,
		{"X-Y", "a\rb"}: false, {"X-Y", "a\nb"}: false, {"X-Y", "\x00"}: false,
		{"X-Y", "\x7f"}: false, {"X-Y", "a\tb"}: true, {"X-Y", "\xe9"}: true,
	}
	for _, name := range []string{
		"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"TE", "Trailer", "Trailers", "Transfer-Encoding", "Upgrade", "Proxy-Connection",
	} {
		found := false
		for _, c := range conformance.Cases {
			if c.Kind == "header" && !c.Valid && strings.EqualFold(c.Name, name) && c.Name != name {
				found = true
			}
		}
		if !found {
			t.Errorf("Cases has no mixed-case hop-by-hop case for %s", name)
		}
	}
	for _, c := range conformance.Cases {
		switch c.Kind {
		case "status":
			if want, ok := statuses[c.Status]; ok {
				if c.Valid != want {
					t.Errorf("Cases: status %q has Valid=%v, want %v", c.Status, c.Valid, want)
				}
				delete(statuses, c.Status)
			}
		case "header":
			k := hdr{c.Name, c.Value}
			if want, ok := headers[k]; ok {
				if c.Valid != want {
					t.Errorf("Cases: header %q: %q has Valid=%v, want %v", c.Name, c.Value, c.Valid, want)
				}
				delete(headers, k)
			}
		}
	}
	for s := range statuses {
		t.Errorf("Cases lacks status %q", s)
	}
	for h := range headers {
		t.Errorf("Cases lacks header %q: %q", h.name, h.value)
	}
}

func TestParseStatusCodes(t *testing.T) {
	for code := 0; code <= 999; code++ {
		status := strconv.Itoa(code)
		for len(status) < 3 {
			status = "0" + status
		}
		status += " Reason"
		got, err := ParseStatus(status)
		valid := code >= 200 && code <= 599
		if valid && (err != nil || got != code) {
			t.Errorf("ParseStatus(%q) = %d, %v; want %d, nil", status, got, err, code)
		}
		if !valid && err == nil {
			t.Errorf("ParseStatus(%q) = %d, nil; want an error", status, got)
		}
	}
}

// isText is the specification of a reason-phrase or header-value byte,
// written independently of httprule.IsTextByte.
func isText(c byte) bool {
	return c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80
}

// isTchar is the specification of an RFC 9110 tchar, written independently
// of httprule.IsTokenByte.
func isTchar(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func TestEveryByte(t *testing.T) {
	for i := 0; i < 256; i++ {
		c := byte(i)
		s := string([]byte{c})

		status := "200 a" + s + "b"
		if _, err := ParseStatus(status); (err == nil) != isText(c) {
			t.Errorf("ParseStatus(%q): err = %v, want accepted = %v", status, err, isText(c))
		}
		if err := CheckHeader("X-Y", "a"+s+"b"); (err == nil) != isText(c) {
			t.Errorf("CheckHeader value %q: err = %v, want accepted = %v", "a"+s+"b", err, isText(c))
		}
		if err := CheckHeader("X"+s+"Y", "1"); (err == nil) != isTchar(c) {
			t.Errorf("CheckHeader name %q: err = %v, want accepted = %v", "X"+s+"Y", err, isTchar(c))
		}
		if err := CheckHeader(s, "1"); (err == nil) != isTchar(c) {
			t.Errorf("CheckHeader name %q: err = %v, want accepted = %v", s, err, isTchar(c))
		}
		if c != ' ' {
			status := "200" + s + "OK"
			if _, err := ParseStatus(status); err == nil {
				t.Errorf("ParseStatus(%q) accepted byte %#02x after the code", status, c)
			}
		}
	}
}

func TestIsHopByHop(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"Connection", true},
		{"connection", true},
		{"CONNECTION", true},
		{"Keep-Alive", true},
		{"keep-alive", true},
		{"Proxy-Authenticate", true},
		{"Proxy-Authorization", true},
		{"proxy-authorization", true},
		{"Proxy-Connection", true},
		{"TE", true},
		{"te", true},
		{"tE", true},
		{"Trailer", true},
		{"Trailers", true},
		{"Transfer-Encoding", true},
		{"TRANSFER-ENCODING", true},
		{"Upgrade", true},
		{"upgrade", true},
		{"", false},
		{"T", false},
		{"TEE", false},
		{"Connectio", false},
		{"Connection ", false},
		{"Connection\x00", false},
		{"Content-Type", false},
		{"Content-Length", false},
		{"Upgrade-Insecure-Requests", false},
		{"Proxy-Status", false},
		{"Transfer_Encoding", false},
		{"Keep-Alivf", false},
		{"\u212Aeep-Alive", false}, // KELVIN SIGN folds to k in Unicode, not here.
	}
	for _, tt := range tests {
		if got := IsHopByHop(tt.name); got != tt.want {
			t.Errorf("IsHopByHop(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseLength(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"0010", 10, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"09223372036854775807", 1<<63 - 1, true},
		{"9223372036854775808", 0, false},
		{"9223372036854775810", 0, false},
		{"92233720368547758070", 0, false},
		{"", 0, false},
		{"-0", 0, false},
		{"+1", 0, false},
		{"1 ", 0, false},
		{"a", 0, false},
	}
	for _, tt := range tests {
		got, err := parseLength(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("parseLength(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
		}
		if !tt.ok && err == nil {
			t.Errorf("parseLength(%q) = %d, nil; want an error", tt.in, got)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{checkStatus("200"), `response: invalid status "200": want a three-digit code, a space and a reason phrase`},
		{checkStatus("abc OK"), `response: invalid status "abc OK": does not start with a three-digit code`},
		{checkStatus("2000 OK"), `response: invalid status "2000 OK": want a single space after the code`},
		{checkStatus("199 x"), `response: invalid status "199 x": informational code 199 cannot be a final status (want 200-599)`},
		{checkStatus("600 x"), `response: invalid status "600 x": code 600 out of range (want 200-599)`},
		{checkStatus("200 OK\r\n"), `response: invalid status "200 OK\r\n": reason phrase has forbidden byte 0x0d at offset 6`},
		{CheckHeader("", "x"), `response: empty header name`},
		{CheckHeader("X Y", "x"), `response: invalid header name "X Y": byte 0x20 at offset 1 is not a token character`},
		{CheckHeader("connection", "close"), `response: header "connection" is hop-by-hop and may not be set by the application`},
		{CheckHeader("X-Y", "a\nb"), `response: invalid value "a\nb" for header "X-Y": forbidden byte 0x0a at offset 1`},
		{CheckHeader("Content-Length", "-1"), `response: invalid Content-Length "-1": want one or more decimal digits`},
		{CheckHeader("Content-Length", ""), `response: invalid Content-Length "": want one or more decimal digits`},
		{CheckHeader("Content-Length", "9223372036854775808"), `response: invalid Content-Length "9223372036854775808": larger than 9223372036854775807`},
		{checkStatus("200 " + conformance.Long + "\n"), `response: invalid status "200 ` + conformance.Long[:56] + `...": reason phrase has forbidden byte 0x0a at offset 104`},
		{CheckHeader("X-Y", conformance.Long+"\x00"), `response: invalid value "` + conformance.Long[:60] + `..." for header "X-Y": forbidden byte 0x00 at offset 100`},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("got no error, want %s", tt.want)
			continue
		}
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("error:\n got %s\nwant %s", got, tt.want)
		}
	}
}

func checkStatus(s string) error {
	_, err := ParseStatus(s)
	return err
}

func TestClip(t *testing.T) {
	short := strings.Repeat("a", maxQuote)
	if got := clip(short); got != short {
		t.Errorf("clip(60 bytes) = %q, want it unchanged", got)
	}
	if got, want := clip(short+"b"), short+"..."; got != want {
		t.Errorf("clip(61 bytes) = %q, want %q", got, want)
	}
}

func BenchmarkCheckHeader(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if CheckHeader("Content-Type", "text/plain; charset=utf-8") != nil ||
			CheckHeader("Content-Length", "13") != nil {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkParseStatus(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseStatus("200 OK"); err != nil {
			b.Fatal(err)
		}
	}
}
