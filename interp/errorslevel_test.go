package interp

import (
	"log/slog"
	"strings"
	"testing"
)

func TestErrorsLevel(t *testing.T) {
	for _, tc := range []struct {
		text string
		want slog.Level
	}{
		{"WARNING:root:disk almost full\n", slog.LevelWarn},
		{"INFO:myapp.views:rendered\n", slog.LevelInfo},
		{"DEBUG:urllib3:connection\n", slog.LevelDebug},
		{"CRITICAL:db:gone\n", slog.LevelError},
		{"[2026-12-03 10:00:00,123] INFO in app: hello\n", slog.LevelInfo},
		{"[2026-12-03 10:00:00,123] ERROR in app: Exception on / [GET]\n", slog.LevelError},
		{"2026-12-03 10:00:00 [WARN] slow query\n", slog.LevelWarn},
		{"Traceback (most recent call last):\n", slog.LevelError},
		{"a plain line\n", slog.LevelError},
		{"INFORMATION is not a level\n", slog.LevelError},
		{"XINFO: glued\n", slog.LevelError},
		{strings.Repeat("x", 70) + " INFO past the prefix that is looked at\n", slog.LevelError},
		{"", slog.LevelError},
	} {
		if got := errorsLevel(tc.text); got != tc.want {
			t.Errorf("errorsLevel(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
