package environ

import (
	"reflect"
	"strings"
	"testing"
)

func TestAppendVarRoundTrip(t *testing.T) {
	tests := [][]Var{
		nil,
		{{"", ""}},
		{{"wsgi.extra", "value"}},
		{{"A", "\x00\xff latin-1 \xe9"}, {"B", ""}, {"C", strings.Repeat("x", 70000)}},
	}
	for _, vars := range tests {
		var packed []byte
		for _, v := range vars {
			packed = AppendVar(packed, v.Key, v.Value)
		}
		got, err := Decode(packed)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if !reflect.DeepEqual(got, vars) {
			t.Errorf("round trip of %.60q gave %.60q", vars, got)
		}
	}
}

func TestRecordFormat(t *testing.T) {
	packed := appendIDVar(nil, KeyPathInfo, "/x")
	packed = AppendVar(packed, "K", "vv")
	want := []byte{
		KeyPathInfo, 2, 0, 0, 0, '/', 'x',
		0xFF, 1, 0, 0, 0, 'K', 2, 0, 0, 0, 'v', 'v',
	}
	if !reflect.DeepEqual(packed, want) {
		t.Errorf("packed = %v, want %v", packed, want)
	}
	got, err := Decode(packed)
	if err != nil || !reflect.DeepEqual(got, []Var{{"PATH_INFO", "/x"}, {"K", "vv"}}) {
		t.Errorf("Decode = %q, %v", got, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := AppendVar(appendIDVar(nil, KeyRequestMethod, "GET"), "key", "value")
	tests := []struct {
		name   string
		packed []byte
		n      int    // records decoded before the error
		offset string // the error must name this offset
	}{
		{"unknown id", []byte{numKeys, 0, 0, 0, 0}, 0, "offset 0"},
		{"unknown id after record", append(good[:8:8], 0xFE), 1, "offset 8"},
		{"no value length", []byte{KeyPathInfo, 1, 0}, 0, "offset 1"},
		{"short value", []byte{KeyPathInfo, 3, 0, 0, 0, 'a'}, 0, "offset 5"},
		{"no key length", []byte{LiteralKey, 1}, 0, "offset 1"},
		{"short key", []byte{LiteralKey, 9, 0, 0, 0, 'k'}, 0, "offset 5"},
		{"huge length", []byte{KeyPathInfo, 0xFF, 0xFF, 0xFF, 0xFF, 'a'}, 0, "offset 5"},
	}
	// Every cut of a valid buffer but at a record boundary (8) is an error.
	for i := 1; i < len(good); i++ {
		if i == 8 {
			continue
		}
		n := 0
		if i > 8 {
			n = 1
		}
		tests = append(tests, struct {
			name   string
			packed []byte
			n      int
			offset string
		}{"truncated", good[:i], n, ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, err := Decode(tt.packed)
			if err == nil {
				t.Fatalf("Decode(%v) succeeded: %q", tt.packed, vars)
			}
			if len(vars) != tt.n {
				t.Errorf("Decode(%v) returned %d records, want %d", tt.packed, len(vars), tt.n)
			}
			if !strings.Contains(err.Error(), tt.offset) || !strings.Contains(err.Error(), "offset") {
				t.Errorf("Decode(%v) error %q does not name %q", tt.packed, err, tt.offset)
			}
		})
	}
}
