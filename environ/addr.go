package environ

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// appendServer appends SERVER_NAME and SERVER_PORT: from r.Host when it
// names a host, else from the local address of the connection, else
// "localhost". The port is the one in r.Host, else the local port, else
// the scheme's default.
func appendServer(dst []byte, r *http.Request, https bool) []byte {
	name, port := splitHost(r.Host)
	var local *net.TCPAddr
	if name == "" {
		local, _ = r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	}

	var start int
	dst, start = beginValue(dst, KeyServerName)
	switch {
	case name != "":
		dst = append(dst, name...)
	case local != nil && local.IP != nil:
		dst = local.AddrPort().Addr().Unmap().WithZone("").AppendTo(dst)
	default:
		dst = append(dst, "localhost"...)
	}
	endValue(dst, start)

	dst, start = beginValue(dst, KeyServerPort)
	switch {
	case port != "":
		dst = append(dst, port...)
	case local != nil && name == "":
		dst = strconv.AppendInt(dst, int64(local.Port), 10)
	case https:
		dst = append(dst, "443"...)
	default:
		dst = append(dst, "80"...)
	}
	endValue(dst, start)
	return dst
}

// splitHost splits a Host header value into the host name, without the
// brackets of an IPv6 literal, and the port. The port is "" unless it is a
// non-empty string of digits.
func splitHost(host string) (name, port string) {
	if strings.HasPrefix(host, "[") {
		i := strings.IndexByte(host, ']')
		if i < 0 {
			return host, ""
		}
		name, port = host[1:i], host[i+1:]
		if !strings.HasPrefix(port, ":") {
			return name, ""
		}
		port = port[1:]
	} else if i := strings.IndexByte(host, ':'); i >= 0 && i == strings.LastIndexByte(host, ':') {
		name, port = host[:i], host[i+1:]
	} else {
		return host, "" // no port, or a bare IPv6 address
	}
	if port == "" || strings.Trim(port, "0123456789") != "" {
		port = ""
	}
	return name, port
}

// splitHostPort is [net.SplitHostPort] for well-formed input, without the
// allocation of an error when the address has no port (as a Unix socket
// peer, "@" or "", does not).
func splitHostPort(addr string) (host, port string, ok bool) {
	if strings.HasPrefix(addr, "[") {
		i := strings.IndexByte(addr, ']')
		if i < 0 || i+1 >= len(addr) || addr[i+1] != ':' {
			return "", "", false
		}
		host, port = addr[1:i], addr[i+2:]
		if strings.ContainsAny(host, "[]") || strings.ContainsAny(port, "[]") {
			return "", "", false
		}
		return host, port, true
	}
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || strings.IndexByte(addr, ':') != i || strings.ContainsAny(addr, "[]") {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}
