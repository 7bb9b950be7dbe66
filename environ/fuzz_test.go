package environ

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func FuzzBuild(f *testing.F) {
	f.Add("GET", "/a%2Fb//c/../d?x=%20y", "example.com", "X-Thing", "v", "192.0.2.1:1", "/a", "/a/", int64(0))
	f.Add("POST", "http://h:1/p?q", "[::1]:80", "Cookie", "a=b", "@", "", "GET h/p/{x...}", int64(-1))
	f.Add("GET", "/caf\xe9%00%ff", "", "X_Under", "\x00", "", "/caf", "", int64(5))
	f.Add("OPTIONS", "*", ":", "content-type", "t/t", "[::1]:2", "/", "/", int64(0))
	f.Fuzz(func(t *testing.T, method, target, host, hname, hval, remote, script, pattern string, cl int64) {
		var reqs []*http.Request

		// As a server parses it.
		raw := method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + hname + ": " + hval + "\r\n\r\n"
		if r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw))); err == nil {
			r.RemoteAddr = remote
			setPattern(r, pattern)
			reqs = append(reqs, r)
		}

		// Made by hand, with anything in any field.
		path, query, _ := strings.Cut(target, "?")
		reqs = append(reqs, &http.Request{
			Method:        method,
			URL:           &url.URL{Path: path, RawPath: path, RawQuery: query},
			Host:          host,
			Header:        http.Header{hname: {hval, hval}, http.CanonicalHeaderKey(hname): {hval}},
			RemoteAddr:    remote,
			RequestURI:    target,
			ContentLength: cl,
		})
		setPattern(reqs[len(reqs)-1], pattern)

		for _, r := range reqs {
			for _, opt := range []*Options{nil, {ScriptName: script, ScriptNameSet: true}} {
				checkBuild(t, r, opt)
			}
		}
	})
}

// checkBuild checks the invariants of Build's output for any request.
func checkBuild(t *testing.T, r *http.Request, opt *Options) {
	prefix := AppendVar(nil, "prefix", "p")
	packed, flags := Build(bytes.Clone(prefix), r, opt)
	if !bytes.HasPrefix(packed, prefix) {
		t.Fatalf("Build changed the bytes before it")
	}
	vars, err := Decode(packed)
	if err != nil {
		t.Fatalf("Decode: %v\n%q", err, packed)
	}
	env := map[string]string{}
	for _, v := range vars {
		if v.Key == "" {
			t.Fatalf("empty key")
		}
		for i := 0; i < len(v.Key); i++ {
			if c := v.Key[i]; c == 0 || c >= 0x80 {
				t.Fatalf("key %q is not ASCII without NUL", v.Key)
			}
		}
		env[v.Key] = v.Value
	}
	for _, k := range []string{"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
		"REQUEST_URI", "RAW_URI", "SERVER_PROTOCOL", "SERVER_NAME", "SERVER_PORT", "wsgi.url_scheme"} {
		if _, ok := env[k]; !ok {
			t.Fatalf("%s missing", k)
		}
	}
	for _, k := range []string{"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"} {
		if _, ok := env[k]; ok {
			t.Fatalf("%s present", k)
		}
	}
	if p := env["SERVER_PORT"]; p == "" || strings.Trim(p, "0123456789") != "" {
		t.Fatalf("SERVER_PORT = %q", p)
	}
	if (flags&InputTerminated != 0) != (r.ContentLength < 0) {
		t.Fatalf("flags = %v with ContentLength %d", flags, r.ContentLength)
	}
	if hasKey(env, "REMOTE_ADDR") != hasKey(env, "REMOTE_PORT") {
		t.Fatalf("REMOTE_ADDR and REMOTE_PORT do not come together")
	}

	// SCRIPT_NAME + PATH_INFO is the path the client sent or the one the
	// handler sees, decoded once.
	cur := string(appendUnescaped(nil, r.URL.EscapedPath()))
	if opt != nil {
		script := strings.TrimRight(opt.ScriptName, "/")
		if env["SCRIPT_NAME"] != script {
			t.Fatalf("SCRIPT_NAME = %q, want %q", env["SCRIPT_NAME"], script)
		}
		if p := env["PATH_INFO"]; p != cur && script+p != cur {
			t.Fatalf("PATH_INFO = %q for path %q and SCRIPT_NAME %q", p, cur, script)
		}
		return
	}
	whole := env["SCRIPT_NAME"] + env["PATH_INFO"]
	orig, _ := targetPath(r.RequestURI)
	if whole != cur && whole != string(appendUnescaped(nil, orig)) {
		t.Fatalf("SCRIPT_NAME %q + PATH_INFO %q is neither %q nor the target %q",
			env["SCRIPT_NAME"], env["PATH_INFO"], cur, r.RequestURI)
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add(AppendVar(appendIDVar(nil, KeyPathInfo, "/x"), "k", "v"))
	f.Add([]byte{LiteralKey, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{numKeys})
	f.Fuzz(func(t *testing.T, packed []byte) {
		vars, err := Decode(packed)
		if err != nil {
			return
		}
		// A valid buffer re-packs, with literal keys, to the same records.
		var again []byte
		for _, v := range vars {
			again = AppendVar(again, v.Key, v.Value)
		}
		vars2, err := Decode(again)
		if err != nil || !reflect.DeepEqual(vars, vars2) {
			t.Fatalf("re-packed %q decoded to %q, %v", vars, vars2, err)
		}
	})
}
