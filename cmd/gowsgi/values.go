package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// seconds is a duration flag that takes gunicorn's whole seconds ("30")
// as well as a Go duration ("1m30s", "500ms").
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }
func (s *seconds) Type() string   { return "seconds" }

func (s *seconds) Set(v string) error {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 {
			return fmt.Errorf("%s is negative", v)
		}
		*s = seconds(f * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is neither seconds (30) nor a duration (1m30s)", v)
	}
	if d < 0 {
		return fmt.Errorf("%s is negative", v)
	}
	*s = seconds(d)
	return nil
}

// octal is a file mode mask flag, as gunicorn's --umask takes it: "0",
// "0o007", "007" or "0x1ff", all read as an integer with Python's
// prefixes, a leading 0 meaning octal.
type octal uint32

func (o *octal) String() string { return fmt.Sprintf("%#o", uint32(*o)) }
func (o *octal) Type() string   { return "mask" }

func (o *octal) Set(v string) error {
	s := strings.ToLower(v)
	base := 10
	switch {
	case strings.HasPrefix(s, "0o"):
		s, base = s[2:], 8
	case strings.HasPrefix(s, "0x"):
		s, base = s[2:], 16
	case strings.HasPrefix(s, "0b"):
		s, base = s[2:], 2
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	n, err := strconv.ParseUint(s, base, 32)
	if err != nil || n > 0o777 {
		return fmt.Errorf("%q is not a file mode mask (like 0 or 0o007)", v)
	}
	*o = octal(n)
	return nil
}
