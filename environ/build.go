package environ

import (
	"encoding/binary"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// Flags report facts about a request that are not environ strings.
type Flags uint32

const (
	// InputTerminated says the request body has no declared length (it is
	// chunked): the environ gets wsgi.input_terminated = True and
	// wsgi.input reads until the end of the body.
	InputTerminated Flags = 1 << iota
)

// Options say how a request maps onto the application's URL space.
type Options struct {
	// ScriptName, when ScriptNameSet, is the mount point of the
	// application: "" for the root, or a path such as "/x" (a trailing
	// slash is ignored). It becomes SCRIPT_NAME as given, and is removed
	// from the front of PATH_INFO when the path starts with it.
	ScriptName string

	// ScriptNameSet says ScriptName was given. Without it, Build infers
	// the mount point from the request (see Build).
	ScriptNameSet bool

	// Proxies, when not nil, are the peers whose forwarding headers set
	// wsgi.url_scheme and REMOTE_ADDR (see Proxies). Without it, no
	// header does.
	Proxies *Proxies
}

var emptyURL url.URL

// Build appends the packed CGI variables of r to dst and returns the
// extended buffer and the request's flags. opt may be nil.
//
// The variables are REQUEST_METHOD, SCRIPT_NAME, PATH_INFO, QUERY_STRING
// (raw, maybe empty), REQUEST_URI and RAW_URI (the request target as
// sent), SERVER_PROTOCOL, wsgi.url_scheme ("https" when r.TLS is set, or
// when a trusted proxy says so: see [Proxies]), SERVER_NAME and
// SERVER_PORT, REMOTE_ADDR and REMOTE_PORT (the peer's, or the client's
// address that a trusted proxy forwarded; absent when r.RemoteAddr is not
// host:port, as on a Unix socket), CONTENT_TYPE and CONTENT_LENGTH when the request has them, and
// one HTTP_* variable per request header.
//
// The path is the request's escaped path percent-decoded once into bytes;
// "%2F" becomes "/", and "//" or ".." are left alone. Without an explicit
// mount point in opt, SCRIPT_NAME is inferred: from the prefix that an
// [http.StripPrefix] in front of the handler removed (the request target
// ends with the path the handler sees), and from the literal prefix of the
// [http.ServeMux] pattern that routed the request (Go 1.23 and later), so
// that a handler registered at "/legacy/" serves "/legacy/x" with
// SCRIPT_NAME "/legacy" and PATH_INFO "/x".
//
// Header names become HTTP_ plus the name upper-cased with '-' turned into
// '_'. Names that contain '_' (or any byte not allowed in a header name)
// are dropped, so that "X_Auth_User" cannot pose as "X-Auth-User".
// Repeated headers are joined with ", ", Cookie with "; ". Content-Type and
// Content-Length appear only as CONTENT_TYPE and CONTENT_LENGTH. A body of
// unknown length sets [InputTerminated] and HTTP_TRANSFER_ENCODING.
//
// Build does not allocate for a typical request when dst has room.
func Build(dst []byte, r *http.Request, opt *Options) ([]byte, Flags) {
	var flags Flags
	u := r.URL
	if u == nil {
		u = &emptyURL
	}

	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	dst = appendIDVar(dst, KeyRequestMethod, method)
	dst = appendPaths(dst, r, u, opt)
	dst = appendIDVar(dst, KeyQueryString, u.RawQuery)
	uri := r.RequestURI
	if uri == "" {
		uri = u.RequestURI()
	}
	dst = appendIDVar(dst, KeyRequestURI, uri)
	dst = appendIDVar(dst, KeyRawURI, uri)
	proto := r.Proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	dst = appendIDVar(dst, KeyServerProtocol, proto)
	https := r.TLS != nil
	host, port, hostOK := splitHostPort(r.RemoteAddr)
	var fwd forwarded
	if opt != nil && opt.Proxies != nil {
		fwd = opt.Proxies.from(r, host)
		if fwd.scheme != "" {
			https = fwd.scheme == "https"
		}
	}
	if https {
		dst = appendIDVar(dst, KeyURLScheme, "https")
	} else {
		dst = appendIDVar(dst, KeyURLScheme, "http")
	}
	dst = appendServer(dst, r, https)
	switch {
	case fwd.addr != "":
		dst = appendIDVar(dst, KeyRemoteAddr, fwd.addr)
	case hostOK:
		dst = appendIDVar(dst, KeyRemoteAddr, host)
		dst = appendIDVar(dst, KeyRemotePort, port)
	}

	switch {
	case r.ContentLength > 0 || r.ContentLength == 0 && r.Header["Content-Length"] != nil:
		var start int
		dst, start = beginValue(dst, KeyContentLength)
		dst = strconv.AppendInt(dst, r.ContentLength, 10)
		endValue(dst, start)
	case r.ContentLength < 0:
		flags |= InputTerminated
		te := "chunked"
		if len(r.TransferEncoding) > 0 {
			te = strings.Join(r.TransferEncoding, ", ")
		}
		dst = appendIDVar(dst, KeyHTTPTransferEncoding, te)
	}

	if r.Host != "" {
		dst = appendIDVar(dst, KeyHTTPHost, r.Host)
	}
	for name, values := range r.Header {
		dst = appendHeader(dst, name, values)
	}
	return dst, flags
}

// appendHeader appends the record of one request header, if it gets one.
func appendHeader(dst []byte, name string, values []string) []byte {
	if len(values) == 0 {
		return dst
	}
	id, ok := headerIDs[name]
	if !ok {
		return appendLiteralHeader(dst, name, values)
	}
	if id == skipHeader {
		return dst
	}
	dst = append(dst, id)
	if id == KeyHTTPCookie {
		return appendJoined(dst, values, "; ")
	}
	return appendJoined(dst, values, ", ")
}

// appendLiteralHeader appends the record of a header that has no key ID:
// one not in the table, or one whose name is not in canonical form (which
// net/http never produces for a request it parsed).
func appendLiteralHeader(dst []byte, name string, values []string) []byte {
	if name == "" {
		return dst
	}
	for i := 0; i < len(name); i++ {
		if headerKeyByte[name[i]] == 0 {
			return dst // not a header name, or contains '_'
		}
	}
	if id, ok := headerIDs[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		// A non-canonical spelling of a known name: rare enough to pay for
		// the canonical form.
		if id == skipHeader {
			return dst
		}
		if id == KeyContentType {
			return appendJoined(append(dst, id), values, ", ")
		}
	}
	dst = append(dst, LiteralKey)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len("HTTP_")+len(name)))
	dst = append(dst, "HTTP_"...)
	for i := 0; i < len(name); i++ {
		dst = append(dst, headerKeyByte[name[i]])
	}
	if strings.EqualFold(name, "Cookie") {
		return appendJoined(dst, values, "; ")
	}
	return appendJoined(dst, values, ", ")
}

// appendJoined appends the values joined by sep, with their length in
// front.
func appendJoined(dst []byte, values []string, sep string) []byte {
	n := len(sep) * (len(values) - 1)
	for _, v := range values {
		n += len(v)
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	for i, v := range values {
		if i > 0 {
			dst = append(dst, sep...)
		}
		dst = append(dst, v...)
	}
	return dst
}
