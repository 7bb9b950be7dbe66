package environ

import (
	"encoding/binary"
	"fmt"
)

// LiteralKey is the key ID of a record that carries its own key string: a
// header that has no ID in [Keys], or an extra key added with [AppendVar].
const LiteralKey = 0xFF

// AppendVar appends to dst one record with the literal key and value and
// returns the extended buffer. The key must be ASCII without NUL bytes; the
// value is raw bytes (latin-1 on the Python side). A record with the same
// key as an earlier one overrides it.
func AppendVar(dst []byte, key, value string) []byte {
	dst = append(dst, LiteralKey)
	dst = appendString(dst, key)
	return appendString(dst, value)
}

// appendIDVar appends one record with the key ID id.
func appendIDVar(dst []byte, id uint8, value string) []byte {
	return appendString(append(dst, id), value)
}

// appendString appends s with its uint32 length in front.
func appendString(dst []byte, s string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

// beginValue appends the key ID id and room for a value length, and returns
// the extended buffer and the offset where the value starts. The caller
// appends the value and then calls endValue with that offset.
func beginValue(dst []byte, id uint8) ([]byte, int) {
	dst = append(dst, id, 0, 0, 0, 0)
	return dst, len(dst)
}

// endValue writes the length of the value that started at offset start.
func endValue(dst []byte, start int) {
	binary.LittleEndian.PutUint32(dst[start-4:], uint32(len(dst)-start))
}

// Var is one decoded record: a key and its raw value.
type Var struct {
	Key, Value string
}

// Decode parses a packed buffer into its records, in order. If the buffer
// is malformed it returns the records before the bad one and an error that
// names the offset of the problem.
func Decode(packed []byte) ([]Var, error) {
	var vars []Var
	for off := 0; off < len(packed); {
		rec := off
		id := packed[off]
		off++
		var key string
		switch {
		case id == LiteralKey:
			k, next, err := readString(packed, off)
			if err != nil {
				return vars, fmt.Errorf("environ: record at offset %d: key: %w", rec, err)
			}
			key, off = k, next
		case int(id) < len(Keys):
			key = Keys[id]
		default:
			return vars, fmt.Errorf("environ: record at offset %d: unknown key id %d", rec, id)
		}
		value, next, err := readString(packed, off)
		if err != nil {
			return vars, fmt.Errorf("environ: record at offset %d (%s): value: %w", rec, key, err)
		}
		off = next
		vars = append(vars, Var{Key: key, Value: value})
	}
	return vars, nil
}

// readString reads a length-prefixed string at offset off of b and returns
// it with the offset that follows it.
func readString(b []byte, off int) (string, int, error) {
	if len(b)-off < 4 {
		return "", off, fmt.Errorf("length at offset %d: need 4 bytes, have %d", off, len(b)-off)
	}
	n := uint64(binary.LittleEndian.Uint32(b[off:]))
	off += 4
	if n > uint64(len(b)-off) {
		return "", off, fmt.Errorf("%d bytes at offset %d: only %d left", n, off, len(b)-off)
	}
	end := off + int(n)
	return string(b[off:end]), end, nil
}
