package interp

import "log/slog"

// errorsLevel is the level of a line an app wrote to wsgi.errors, as the
// app's logging put it: the first level name (DEBUG, INFO, WARNING, ERROR,
// CRITICAL; also WARN and FATAL), as a whole upper-case word, among the
// line's first 64 bytes. That covers logging's default format
// ("WARNING:root:...") and Flask's ("[time] INFO in app: ..."). A line
// without one, such as a traceback, is an error.
func errorsLevel(text string) slog.Level {
	if len(text) > 64 {
		text = text[:64]
	}
	for i := 0; i < len(text); {
		if !isUpper(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isUpper(text[j]) {
			j++
		}
		// A word: not glued to letters or digits on either side.
		whole := (i == 0 || !isWordByte(text[i-1])) && (j == len(text) || !isWordByte(text[j]))
		if whole {
			switch text[i:j] {
			case "DEBUG":
				return slog.LevelDebug
			case "INFO":
				return slog.LevelInfo
			case "WARNING", "WARN":
				return slog.LevelWarn
			case "ERROR", "CRITICAL", "FATAL":
				return slog.LevelError
			}
		}
		i = j
	}
	return slog.LevelError
}

func isUpper(b byte) bool { return 'A' <= b && b <= 'Z' }

func isWordByte(b byte) bool {
	return isUpper(b) || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '_'
}
