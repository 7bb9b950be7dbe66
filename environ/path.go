package environ

import (
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
)

// appendPaths appends SCRIPT_NAME and PATH_INFO.
func appendPaths(dst []byte, r *http.Request, u *url.URL, opt *Options) []byte {
	esc := u.EscapedPath()
	if opt != nil && opt.ScriptNameSet {
		script := strings.TrimRight(opt.ScriptName, "/")
		dst = appendIDVar(dst, KeyScriptName, script)
		var start int
		dst, start = beginValue(dst, KeyPathInfo)
		dst = appendUnescaped(dst, esc)
		if script != "" && hasPathPrefix(dst[start:], script) {
			n := copy(dst[start:], dst[start+len(script):])
			dst = dst[:start+n]
		}
		endValue(dst, start)
		return dst
	}

	// The decoded path goes in place as the value of SCRIPT_NAME; k is
	// where PATH_INFO starts in it.
	dst, start := beginValue(dst, KeyScriptName)
	k := 0
	if orig, ok := targetPath(r.RequestURI); ok && orig != esc {
		// The handler sees another path than the client sent: if it is a
		// tail of it, a StripPrefix (or the like) removed the head.
		dst = appendUnescaped(dst, orig)
		end := len(dst)
		dst = appendUnescaped(dst, esc)
		full, cur := dst[start:end], dst[end:]
		if len(cur) < len(full) && string(full[len(full)-len(cur):]) == string(cur) {
			k = len(full) - len(cur)
			if full[k-1] == '/' && (k == len(full) || full[k] != '/') {
				k-- // StripPrefix("/x/"): keep the slash in PATH_INFO
			}
			dst = dst[:end]
		} else {
			n := copy(dst[start:], cur)
			dst = dst[:start+n]
		}
	} else {
		dst = appendUnescaped(dst, esc)
	}
	if p := mountPattern(r); p != "" {
		// With a StripPrefix in front too, the pattern counts only if it
		// did not match the original path, that is, if it was matched
		// after the strip.
		full := dst[start:]
		if hasPathPrefix(full[k:], p) && (k == 0 || !hasPathPrefix(full, p)) {
			k += len(p)
		}
	}

	// Split the value at k: insert the PATH_INFO record header there.
	n := len(dst) - start
	dst = append(dst, 0, 0, 0, 0, 0)
	at := start + k
	copy(dst[at+5:], dst[at:start+n])
	dst[at] = KeyPathInfo
	binary.LittleEndian.PutUint32(dst[at+1:], uint32(n-k))
	binary.LittleEndian.PutUint32(dst[start-4:], uint32(k))
	return dst
}

// mountPattern returns the literal path prefix of the ServeMux pattern
// that routed r, percent-decoded and without a trailing slash: "/legacy"
// for "/legacy/", "GET /legacy/", "example.com/legacy/" or
// "/legacy/{rest...}". It returns "" when there is no pattern or it is the
// root.
func mountPattern(r *http.Request) string {
	p := requestPattern(r)
	if p == "" {
		return ""
	}
	if i := strings.IndexAny(p, " \t"); i >= 0 {
		p = strings.TrimLeft(p[i+1:], " \t") // method
	}
	i := strings.IndexByte(p, '/')
	if i < 0 {
		return ""
	}
	p = p[i:] // host
	if i := strings.IndexByte(p, '{'); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimRight(p, "/")
	if strings.IndexByte(p, '%') >= 0 {
		p = string(appendUnescaped(nil, p))
	}
	return p
}

// targetPath returns the path part of a request target: the part before
// the query of an origin-form target ("/a?b"), or the part after the
// authority of an absolute-form one ("http://h/a?b"). ok is false for
// other forms.
func targetPath(target string) (path string, ok bool) {
	if target == "" {
		return "", false
	}
	if target[0] != '/' && target != "*" {
		i := strings.Index(target, "://")
		if i < 0 {
			return "", false // authority-form (CONNECT)
		}
		target = target[i+len("://"):]
		j := strings.IndexAny(target, "/?")
		if j < 0 || target[j] == '?' {
			return "", true
		}
		target = target[j:]
	}
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	return target, true
}

// hasPathPrefix reports whether path is prefix or starts with prefix
// followed by '/'.
func hasPathPrefix(path []byte, prefix string) bool {
	return len(path) >= len(prefix) && string(path[:len(prefix)]) == prefix &&
		(len(path) == len(prefix) || path[len(prefix)] == '/')
}

// appendUnescaped appends s with every %XX escape decoded to its byte. A
// '%' that does not start a valid escape is kept as it is.
func appendUnescaped(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			s = s[i+3:]
		} else {
			dst = append(dst, '%')
			s = s[i+1:]
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}
