package wsgi

import (
	"fmt"
	"strings"

	"github.com/gowsgi/wsgi/environ"
)

// DefaultTrustedProxies is what gunicorn trusts by default
// (--forwarded-allow-ips): a front web server on the same machine.
const DefaultTrustedProxies = "127.0.0.1,::1"

// WithTrustedProxies trusts the peers in list, addresses and CIDR
// prefixes separated by commas ("127.0.0.1,::1", "10.0.0.0/8") or "*"
// for every peer, to say in forwarding headers who the client is and which
// scheme it used (gunicorn's --forwarded-allow-ips): from them,
// X-Forwarded-Proto: https (or another secure scheme header, see
// WithSecureSchemeHeaders) or Forwarded's proto= sets wsgi.url_scheme, and
// X-Forwarded-For or Forwarded's for= sets REMOTE_ADDR. From any other
// peer those headers change nothing. A peer on a Unix socket is trusted.
//
// Without this option no peer is trusted: a Go program that takes the
// client's address and scheme from a proxy itself can leave it out. The
// gowsgi command trusts DefaultTrustedProxies, as gunicorn does.
func WithTrustedProxies(list string) Option {
	return func(o *options) { o.proxies = &list }
}

// WithSecureSchemeHeaders sets the headers that, from a trusted proxy,
// say the client used https: each name maps to the value that means it,
// any other value meaning http (gunicorn's secure_scheme_headers). The
// default is environ.DefaultSchemeHeaders: X-Forwarded-Proto: https,
// X-Forwarded-Protocol: ssl, X-Forwarded-Ssl: on.
func WithSecureSchemeHeaders(h map[string]string) Option {
	return func(o *options) { o.schemeHeaders = h }
}

// environOptions makes the environ's options from the App's.
func (o *options) environOptions() (environ.Options, error) {
	var eo environ.Options
	if o.scriptName != nil {
		eo.ScriptName, eo.ScriptNameSet = strings.TrimSuffix(*o.scriptName, "/"), true
	}
	if o.proxies != nil {
		p, err := environ.ParseProxies(*o.proxies, o.schemeHeaders)
		if err != nil {
			return eo, fmt.Errorf("wsgi: WithTrustedProxies: %w", err)
		}
		eo.Proxies = p
	}
	return eo, nil
}
