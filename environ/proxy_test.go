package environ

import (
	"strings"
	"testing"
)

func TestProxies(t *testing.T) {
	local, err := ParseProxies("127.0.0.1,::1, 10.0.0.0/8", nil)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := ParseProxies("*", map[string]string{"X-Scheme": "https"})
	for _, tc := range []struct {
		name    string
		proxies *Proxies
		peer    string // r.RemoteAddr
		headers string
		want    map[string]string
	}{
		{"no proxies: headers change nothing", nil, "127.0.0.1:5000",
			"X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\n",
			map[string]string{"wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "5000",
				"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}},
		{"untrusted peer", local, "192.0.2.1:5000",
			"X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\n",
			map[string]string{"wsgi.url_scheme": "http", "REMOTE_ADDR": "192.0.2.1", "REMOTE_PORT": "5000", "SERVER_PORT": "80"}},
		{"trusted peer", local, "127.0.0.1:5000",
			"X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\n",
			map[string]string{"wsgi.url_scheme": "https", "REMOTE_ADDR": "203.0.113.9", "REMOTE_PORT": absent,
				"SERVER_PORT": "443", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}},
		{"trusted IPv6 peer", local, "[::1]:5000", "X-Forwarded-Proto: http\r\n",
			map[string]string{"wsgi.url_scheme": "http", "REMOTE_ADDR": "::1"}},
		{"a chain: the nearest untrusted hop is the client", local, "127.0.0.1:5000",
			"X-Forwarded-For: 198.51.100.7, 203.0.113.9, 10.1.2.3\r\n",
			map[string]string{"REMOTE_ADDR": "203.0.113.9"}},
		{"a spoofed first hop stays spoofed, not trusted", local, "127.0.0.1:5000",
			"X-Forwarded-For: 127.0.0.1, 203.0.113.9\r\n",
			map[string]string{"REMOTE_ADDR": "203.0.113.9"}},
		{"repeated X-Forwarded-For headers join", local, "10.9.9.9:1",
			"X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-For: 203.0.113.9\r\n",
			map[string]string{"REMOTE_ADDR": "203.0.113.9"}},
		{"X-Forwarded-Ssl", local, "127.0.0.1:5000", "X-Forwarded-Ssl: on\r\n",
			map[string]string{"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "5000"}},
		{"a secure scheme header with another value means http", local, "127.0.0.1:5000", "X-Forwarded-Proto: ftp\r\n",
			map[string]string{"wsgi.url_scheme": "http"}},
		{"Forwarded", local, "127.0.0.1:5000",
			"Forwarded: for=198.51.100.7;proto=http, for=\"[2001:db8::17]:4711\";proto=https\r\n",
			map[string]string{"wsgi.url_scheme": "https", "REMOTE_ADDR": "2001:db8::17"}},
		{"Forwarded with an obfuscated client", local, "127.0.0.1:5000", "Forwarded: for=_hidden;proto=https\r\n",
			map[string]string{"wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1"}},
		{"a Unix socket's peer is trusted", local, "@", "X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\n",
			map[string]string{"wsgi.url_scheme": "https", "REMOTE_ADDR": "203.0.113.9"}},
		{"* trusts every peer, with its own scheme headers", all, "192.0.2.1:5000",
			"X-Forwarded-Proto: https\r\nX-Scheme: HTTPS\r\n",
			map[string]string{"wsgi.url_scheme": "https"}},
		{"only the configured scheme headers count", all, "192.0.2.1:5000", "X-Forwarded-Proto: https\r\n",
			map[string]string{"wsgi.url_scheme": "http"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := parse(t, "GET / HTTP/1.1\r\nHost: example.com\r\n"+tc.headers+"\r\n")
			r.RemoteAddr = tc.peer
			got, _ := env(t, r, &Options{Proxies: tc.proxies})
			check(t, got, tc.want)
		})
	}
}

func TestParseProxiesErrors(t *testing.T) {
	for _, s := range []string{"localhost", "10.0.0.0/33", "1.2.3"} {
		if _, err := ParseProxies(s, nil); err == nil || !strings.Contains(err.Error(), "trusted proxy") {
			t.Errorf("ParseProxies(%q): %v, want an error", s, err)
		}
	}
}
