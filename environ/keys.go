package environ

import (
	"net/textproto"
	"strings"

	"github.com/gowsgi/wsgi/internal/httprule"
)

// Key IDs. Each is an index into [Keys] and is the first byte of a record
// that carries that key. The C side interns every string of Keys once at
// start-up and looks keys up by ID.
const (
	KeyRequestMethod  = iota // "REQUEST_METHOD"
	KeyScriptName            // "SCRIPT_NAME"
	KeyPathInfo              // "PATH_INFO"
	KeyQueryString           // "QUERY_STRING"
	KeyContentType           // "CONTENT_TYPE"
	KeyContentLength         // "CONTENT_LENGTH"
	KeyServerName            // "SERVER_NAME"
	KeyServerPort            // "SERVER_PORT"
	KeyServerProtocol        // "SERVER_PROTOCOL"
	KeyRemoteAddr            // "REMOTE_ADDR"
	KeyRemotePort            // "REMOTE_PORT"
	KeyRequestURI            // "REQUEST_URI"
	KeyRawURI                // "RAW_URI"
	KeyURLScheme             // "wsgi.url_scheme"

	KeyHTTPHost                    // "HTTP_HOST"
	KeyHTTPUserAgent               // "HTTP_USER_AGENT"
	KeyHTTPAccept                  // "HTTP_ACCEPT"
	KeyHTTPAcceptEncoding          // "HTTP_ACCEPT_ENCODING"
	KeyHTTPAcceptLanguage          // "HTTP_ACCEPT_LANGUAGE"
	KeyHTTPConnection              // "HTTP_CONNECTION"
	KeyHTTPCookie                  // "HTTP_COOKIE"
	KeyHTTPReferer                 // "HTTP_REFERER"
	KeyHTTPCacheControl            // "HTTP_CACHE_CONTROL"
	KeyHTTPAuthorization           // "HTTP_AUTHORIZATION"
	KeyHTTPOrigin                  // "HTTP_ORIGIN"
	KeyHTTPPragma                  // "HTTP_PRAGMA"
	KeyHTTPXForwardedFor           // "HTTP_X_FORWARDED_FOR"
	KeyHTTPXForwardedProto         // "HTTP_X_FORWARDED_PROTO"
	KeyHTTPXForwardedHost          // "HTTP_X_FORWARDED_HOST"
	KeyHTTPXRealIP                 // "HTTP_X_REAL_IP"
	KeyHTTPXRequestedWith          // "HTTP_X_REQUESTED_WITH"
	KeyHTTPXRequestID              // "HTTP_X_REQUEST_ID"
	KeyHTTPIfNoneMatch             // "HTTP_IF_NONE_MATCH"
	KeyHTTPIfModifiedSince         // "HTTP_IF_MODIFIED_SINCE"
	KeyHTTPRange                   // "HTTP_RANGE"
	KeyHTTPUpgradeInsecureRequests // "HTTP_UPGRADE_INSECURE_REQUESTS"
	KeyHTTPSecFetchSite            // "HTTP_SEC_FETCH_SITE"
	KeyHTTPSecFetchMode            // "HTTP_SEC_FETCH_MODE"
	KeyHTTPSecFetchDest            // "HTTP_SEC_FETCH_DEST"
	KeyHTTPSecFetchUser            // "HTTP_SEC_FETCH_USER"
	KeyHTTPDNT                     // "HTTP_DNT"
	KeyHTTPTE                      // "HTTP_TE"
	KeyHTTPExpect                  // "HTTP_EXPECT"
	KeyHTTPTransferEncoding        // "HTTP_TRANSFER_ENCODING"
	KeyHTTPXCSRFToken              // "HTTP_X_CSRFTOKEN"

	numKeys
)

// Keys holds the key string of every key ID: Keys[KeyPathInfo] is
// "PATH_INFO". All keys are ASCII.
var Keys = [numKeys]string{
	KeyRequestMethod:  "REQUEST_METHOD",
	KeyScriptName:     "SCRIPT_NAME",
	KeyPathInfo:       "PATH_INFO",
	KeyQueryString:    "QUERY_STRING",
	KeyContentType:    "CONTENT_TYPE",
	KeyContentLength:  "CONTENT_LENGTH",
	KeyServerName:     "SERVER_NAME",
	KeyServerPort:     "SERVER_PORT",
	KeyServerProtocol: "SERVER_PROTOCOL",
	KeyRemoteAddr:     "REMOTE_ADDR",
	KeyRemotePort:     "REMOTE_PORT",
	KeyRequestURI:     "REQUEST_URI",
	KeyRawURI:         "RAW_URI",
	KeyURLScheme:      "wsgi.url_scheme",

	KeyHTTPHost:                    "HTTP_HOST",
	KeyHTTPUserAgent:               "HTTP_USER_AGENT",
	KeyHTTPAccept:                  "HTTP_ACCEPT",
	KeyHTTPAcceptEncoding:          "HTTP_ACCEPT_ENCODING",
	KeyHTTPAcceptLanguage:          "HTTP_ACCEPT_LANGUAGE",
	KeyHTTPConnection:              "HTTP_CONNECTION",
	KeyHTTPCookie:                  "HTTP_COOKIE",
	KeyHTTPReferer:                 "HTTP_REFERER",
	KeyHTTPCacheControl:            "HTTP_CACHE_CONTROL",
	KeyHTTPAuthorization:           "HTTP_AUTHORIZATION",
	KeyHTTPOrigin:                  "HTTP_ORIGIN",
	KeyHTTPPragma:                  "HTTP_PRAGMA",
	KeyHTTPXForwardedFor:           "HTTP_X_FORWARDED_FOR",
	KeyHTTPXForwardedProto:         "HTTP_X_FORWARDED_PROTO",
	KeyHTTPXForwardedHost:          "HTTP_X_FORWARDED_HOST",
	KeyHTTPXRealIP:                 "HTTP_X_REAL_IP",
	KeyHTTPXRequestedWith:          "HTTP_X_REQUESTED_WITH",
	KeyHTTPXRequestID:              "HTTP_X_REQUEST_ID",
	KeyHTTPIfNoneMatch:             "HTTP_IF_NONE_MATCH",
	KeyHTTPIfModifiedSince:         "HTTP_IF_MODIFIED_SINCE",
	KeyHTTPRange:                   "HTTP_RANGE",
	KeyHTTPUpgradeInsecureRequests: "HTTP_UPGRADE_INSECURE_REQUESTS",
	KeyHTTPSecFetchSite:            "HTTP_SEC_FETCH_SITE",
	KeyHTTPSecFetchMode:            "HTTP_SEC_FETCH_MODE",
	KeyHTTPSecFetchDest:            "HTTP_SEC_FETCH_DEST",
	KeyHTTPSecFetchUser:            "HTTP_SEC_FETCH_USER",
	KeyHTTPDNT:                     "HTTP_DNT",
	KeyHTTPTE:                      "HTTP_TE",
	KeyHTTPExpect:                  "HTTP_EXPECT",
	KeyHTTPTransferEncoding:        "HTTP_TRANSFER_ENCODING",
	KeyHTTPXCSRFToken:              "HTTP_X_CSRFTOKEN",
}

// skipHeader marks, in headerIDs, request headers that Build takes from
// elsewhere (Host from r.Host, Content-Length from r.ContentLength,
// Transfer-Encoding from r.ContentLength and r.TransferEncoding).
const skipHeader = 0xFE

// headerIDs maps a canonical header name ("User-Agent") to the ID of its
// key (KeyHTTPUserAgent), or to skipHeader. Content-Type maps to
// KeyContentType. It is built once and only read afterwards.
var headerIDs = func() map[string]uint8 {
	m := make(map[string]uint8, numKeys)
	for id := KeyHTTPHost; id < numKeys; id++ {
		name := strings.ReplaceAll(strings.TrimPrefix(Keys[id], "HTTP_"), "_", "-")
		m[textproto.CanonicalMIMEHeaderKey(name)] = uint8(id)
	}
	m["Content-Type"] = KeyContentType
	for _, name := range []string{"Host", "Content-Length", "Transfer-Encoding"} {
		m[name] = skipHeader
	}
	return m
}()

// headerKeyByte maps a byte of a header name to the byte it becomes in the
// HTTP_* key: letters are upper-cased, '-' becomes '_', other token
// characters (RFC 9110, section 5.6.2; [httprule.IsTokenByte]) stay as
// they are. Bytes that may not appear in a name, and '_' (see Build), map
// to 0.
var headerKeyByte = func() (t [256]byte) {
	for i := range t {
		if c := byte(i); httprule.IsTokenByte(c) {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			t[i] = c
		}
	}
	t['-'] = '_'
	t['_'] = 0
	return t
}()
