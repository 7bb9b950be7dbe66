package httprule

import (
	"strconv"
	"strings"
	"testing"
)

// isTchar is RFC 9110's tchar, written independently of tokenTable.
func isTchar(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isText is the specification of a field-value or reason-phrase byte,
// written independently of IsTextByte.
func isText(c byte) bool {
	return c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80
}

func TestEveryByte(t *testing.T) {
	for i := 0; i < 256; i++ {
		c := byte(i)
		if got, want := IsTokenByte(c), isTchar(c); got != want {
			t.Errorf("IsTokenByte(%#02x) = %v, want %v", c, got, want)
		}
		if got, want := IsTextByte(c), isText(c); got != want {
			t.Errorf("IsTextByte(%#02x) = %v, want %v", c, got, want)
		}
	}
}

func TestByteClasses(t *testing.T) {
	tests := []struct {
		c           byte
		token, text bool
	}{
		{'a', true, true},
		{'Z', true, true},
		{'0', true, true},
		{'-', true, true},
		{'_', true, true},
		{'~', true, true},
		{' ', false, true},
		{'\t', false, true},
		{':', false, true},
		{'"', false, true},
		{'(', false, true},
		{'@', false, true},
		{0x80, false, true},
		{0xe9, false, true},
		{0xff, false, true},
		{0x00, false, false},
		{'\r', false, false},
		{'\n', false, false},
		{0x1f, false, false},
		{0x7f, false, false},
	}
	for _, tt := range tests {
		if got := IsTokenByte(tt.c); got != tt.token {
			t.Errorf("IsTokenByte(%q) = %v, want %v", tt.c, got, tt.token)
		}
		if got := IsTextByte(tt.c); got != tt.text {
			t.Errorf("IsTextByte(%q) = %v, want %v", tt.c, got, tt.text)
		}
	}
}

func TestEqualFold(t *testing.T) {
	tests := []struct {
		s, t string
		want bool
	}{
		{"", "", true},
		{"Content-Length", "content-length", true},
		{"CONTENT-LENGTH", "content-length", true},
		{"content-length", "Content-Length", true},
		{"TE", "te", true},
		{"tE", "Te", true},
		{"chunked", "chunked", true},
		{"Chunked", "chunked", true},
		{"chunked ", "chunked", false},
		{"chunke", "chunked", false},
		{"chunkee", "chunked", false},
		{"Content_Length", "content-length", false},
		{"@", "`", false},                        // 0x40 and 0x60 differ by the case bit, but are not letters
		{"[", "{", false},                        // nor are 0x5b and 0x7b
		{"\xc9", "\xe9", false},                  // É and é in latin-1: ASCII only folds
		{"\u212Aeep-Alive", "keep-alive", false}, // KELVIN SIGN folds to k in Unicode, not here
	}
	for _, tt := range tests {
		if got := EqualFold(tt.s, tt.t); got != tt.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", tt.s, tt.t, got, tt.want)
		}
		if got := EqualFold([]byte(tt.s), tt.t); got != tt.want {
			t.Errorf("EqualFold([]byte(%q), %q) = %v, want %v", tt.s, tt.t, got, tt.want)
		}
	}
}

func TestParseContentLength(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  error
	}{
		{"0", 0, nil},
		{"1", 1, nil},
		{"13", 13, nil},
		{"0010", 10, nil},
		{"9223372036854775807", 1<<63 - 1, nil},
		{"09223372036854775807", 1<<63 - 1, nil},
		{"9223372036854775808", 0, ErrTooLarge},
		{"9223372036854775810", 0, ErrTooLarge},
		{"92233720368547758070", 0, ErrTooLarge},
		{"99999999999999999999x", 0, ErrTooLarge}, // too large is seen first
		{"", 0, ErrNotDigits},
		{"-0", 0, ErrNotDigits},
		{"+1", 0, ErrNotDigits},
		{"1 ", 0, ErrNotDigits},
		{" 1", 0, ErrNotDigits},
		{"1,1", 0, ErrNotDigits},
		{"0x10", 0, ErrNotDigits},
		{"a", 0, ErrNotDigits},
		{"\u0661", 0, ErrNotDigits}, // ARABIC-INDIC DIGIT ONE
	}
	for _, tt := range tests {
		got, err := ParseContentLength(tt.in)
		if got != tt.want || err != tt.err {
			t.Errorf("ParseContentLength(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
		gotb, errb := ParseContentLength([]byte(tt.in))
		if gotb != got || errb != err {
			t.Errorf("ParseContentLength([]byte(%q)) = %d, %v; the string gives %d, %v", tt.in, gotb, errb, got, err)
		}
	}
}

// TestParseContentLengthAsNetHTTP: ParseContentLength accepts what
// net/http accepts (strconv.ParseUint(v, 10, 63)), with the same value.
func TestParseContentLengthAsNetHTTP(t *testing.T) {
	for _, v := range []string{"0", "7", "007", "4294967296", "9223372036854775806", "9223372036854775807",
		"9223372036854775808", "18446744073709551616", "", "-1", "+1", "1_000", "1e3", " 1"} {
		want, werr := strconv.ParseUint(v, 10, 63)
		got, err := ParseContentLength(v)
		if (err == nil) != (werr == nil) || err == nil && uint64(got) != want {
			t.Errorf("ParseContentLength(%q) = %d, %v; strconv.ParseUint(%q, 10, 63) = %d, %v", v, got, err, v, want, werr)
		}
	}
}

func TestErrorText(t *testing.T) {
	if got, want := ErrTooLarge.Error(), "larger than 9223372036854775807"; got != want {
		t.Errorf("ErrTooLarge = %q, want %q", got, want)
	}
	if got, want := ErrNotDigits.Error(), "want one or more decimal digits"; got != want {
		t.Errorf("ErrNotDigits = %q, want %q", got, want)
	}
}

func FuzzParseContentLength(f *testing.F) {
	for _, s := range []string{"0", "13", "9223372036854775807", "9223372036854775808", "", "+1", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		want, werr := strconv.ParseUint(v, 10, 63)
		got, err := ParseContentLength(v)
		if (err == nil) != (werr == nil) || err == nil && uint64(got) != want {
			t.Fatalf("ParseContentLength(%q) = %d, %v; strconv.ParseUint = %d, %v", v, got, err, want, werr)
		}
	})
}

func BenchmarkEqualFold(b *testing.B) {
	name := []byte("Content-Length")
	for i := 0; i < b.N; i++ {
		if !EqualFold(name, "content-length") {
			b.Fatal("not equal")
		}
	}
}
