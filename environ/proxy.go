package environ

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"
)

// Proxies are the peers trusted to say, in forwarding headers, who the
// client is and which scheme it used: the front web server (nginx, a load
// balancer) that terminates the client's connection. From any other peer
// those headers change nothing; they stay in the environ as HTTP_*
// variables, as sent.
//
// From a trusted peer, Build takes:
//   - wsgi.url_scheme from a secure scheme header (gunicorn's
//     secure_scheme_headers: X-Forwarded-Proto: https and the like), else
//     from Forwarded's proto=;
//   - REMOTE_ADDR from X-Forwarded-For, else Forwarded's for=: the
//     nearest address in the chain that is not itself a trusted proxy
//     (REMOTE_PORT is then left out: the header does not say it).
//
// A peer without an IP address (a Unix socket) is trusted, as in gunicorn:
// only processes on the machine can connect to one.
type Proxies struct {
	all     bool // "*": every peer
	nets    []netip.Prefix
	schemes []schemeHeader
}

type schemeHeader struct {
	name  string // canonical header name
	https string // the value that means https; any other means http
}

// DefaultSchemeHeaders are gunicorn's secure_scheme_headers.
var DefaultSchemeHeaders = map[string]string{
	"X-Forwarded-Protocol": "ssl",
	"X-Forwarded-Proto":    "https",
	"X-Forwarded-Ssl":      "on",
}

// ParseProxies reads a list of trusted peers as gunicorn's
// --forwarded-allow-ips takes it: addresses and CIDR prefixes separated by
// commas ("127.0.0.1,::1", "10.0.0.0/8"), or "*" for every peer. schemes
// maps a header name to the value that means the client used https
// (DefaultSchemeHeaders when nil).
func ParseProxies(list string, schemes map[string]string) (*Proxies, error) {
	p := &Proxies{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
		case s == "*":
			p.all = true
		case strings.Contains(s, "/"):
			pre, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			p.nets = append(p.nets, pre.Masked())
		default:
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is not an IP address or a CIDR prefix", s)
			}
			a = a.Unmap()
			p.nets = append(p.nets, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	if schemes == nil {
		schemes = DefaultSchemeHeaders
	}
	for name, v := range schemes {
		p.schemes = append(p.schemes, schemeHeader{textproto.CanonicalMIMEHeaderKey(name), strings.ToLower(v)})
	}
	return p, nil
}

// Trusts reports whether the peer at ip (an IP address, unbracketed, as
// in a RemoteAddr's host) is one of the trusted proxies. A peer that is
// not an IP (a Unix socket's, or "") is trusted.
func (p *Proxies) Trusts(ip string) bool { return p.trusts(ip) }

// trusts reports whether the peer at addr (an IP address, unbracketed) is
// a trusted proxy. An address that is not an IP (a Unix socket's) is.
func (p *Proxies) trusts(addr string) bool {
	if p.all {
		return true
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return true
	}
	a = a.Unmap().WithZone("")
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// forwarded is what a trusted peer's headers say about the client.
type forwarded struct {
	scheme string // "https", "http" or "" (not said)
	addr   string // the client's IP address, or ""
}

// from reads r's forwarding headers if its peer, at host, is trusted.
func (p *Proxies) from(r *http.Request, host string) forwarded {
	var f forwarded
	xff, fwd := r.Header["X-Forwarded-For"], r.Header["Forwarded"]
	scheme := ""
	for _, h := range p.schemes {
		if v, ok := r.Header[h.name]; ok && len(v) > 0 {
			scheme = "http"
			if strings.EqualFold(strings.TrimSpace(v[0]), h.https) {
				scheme = "https"
			}
			break
		}
	}
	if xff == nil && fwd == nil && scheme == "" {
		return f
	}
	if !p.trusts(host) {
		return f
	}
	f.scheme = scheme
	var fors []string
	if xff != nil {
		for _, v := range xff {
			for _, a := range strings.Split(v, ",") {
				fors = append(fors, strings.TrimSpace(a))
			}
		}
	} else {
		var proto string
		fors, proto = parseForwarded(fwd)
		if f.scheme == "" && (proto == "https" || proto == "http") {
			f.scheme = proto
		}
	}
	// The nearest hop that is not a trusted proxy is the client.
	for i := len(fors) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(fors[i])
		if err != nil {
			break // "unknown", an obfuscated name: no address to give
		}
		f.addr = a.Unmap().String()
		if !p.trusts(f.addr) {
			break
		}
	}
	return f
}

// parseForwarded returns the for= addresses of RFC 7239 Forwarded headers,
// in order, and the proto= of the last element that has one.
func parseForwarded(values []string) (fors []string, proto string) {
	for _, v := range values {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok {
					continue
				}
				val = strings.Trim(val, `"`)
				switch strings.ToLower(k) {
				case "for":
					// "[2001:db8::1]:4711", "192.0.2.60:8080", "192.0.2.60"
					if h, _, ok := splitHostPort(val); ok {
						val = h
					}
					fors = append(fors, strings.Trim(val, "[]"))
				case "proto":
					proto = strings.ToLower(val)
				}
			}
		}
	}
	return fors, proto
}
