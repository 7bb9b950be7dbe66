package main

// --static URL_PREFIX=DIR: files served by Go in front of the app, as
// whitenoise or nginx's "location /static/ { alias DIR/; }" would.

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// staticRoute serves the files under dir for the request paths under
// prefix.
type staticRoute struct {
	prefix string // "/static/": starts and ends with '/'
	dir    string // absolute, with its symlinks resolved
}

// statics serves the --static routes and sends every other request to
// next. A request under a prefix is answered here whatever happens: the
// file, 304, 206, 404 or 405; it never reaches the app.
type statics struct {
	routes []staticRoute // longest prefix first
	maxAge time.Duration // Cache-Control max-age; 0: no Cache-Control
	next   http.Handler
}

// parseStatic reads each URL_PREFIX=DIR of --static. DIR is taken
// relative to the working directory, so after --chdir, and must be a
// directory.
func parseStatic(specs []string) ([]staticRoute, error) {
	var routes []staticRoute
	for _, s := range specs {
		prefix, dir, ok := strings.Cut(s, "=")
		if !ok || dir == "" || !strings.HasPrefix(prefix, "/") {
			return nil, fmt.Errorf("--static %q: want URL_PREFIX=DIR, the prefix starting with / (like /static=./static)", s)
		}
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if prefix == "/" {
			return nil, fmt.Errorf("--static %q: the prefix / would hide the whole app behind the files; give a prefix such as /static", s)
		}
		for _, seg := range strings.Split(strings.Trim(prefix, "/"), "/") {
			if prefix != "/" && (seg == "" || seg == "." || seg == "..") {
				return nil, fmt.Errorf("--static %q: the prefix has an empty, . or .. segment", s)
			}
		}
		abs, err := filepath.Abs(dir)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		if err != nil {
			return nil, fmt.Errorf("--static %s: %w", s, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--static %s: %s is not a directory", s, dir)
		}
		for _, r := range routes {
			if r.prefix == prefix {
				return nil, fmt.Errorf("--static %s: prefix %s given twice", s, prefix)
			}
		}
		routes = append(routes, staticRoute{prefix: prefix, dir: abs})
	}
	sort.SliceStable(routes, func(i, j int) bool { return len(routes[i].prefix) > len(routes[j].prefix) })
	return routes, nil
}

func (s *statics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The decoded path, as the app would see it in PATH_INFO: a prefix
	// spelled with %2F is still the prefix.
	p := r.URL.Path
	for _, rt := range s.routes {
		if strings.HasPrefix(p, rt.prefix) {
			s.serve(w, r, rt, p[len(rt.prefix):])
			return
		}
	}
	s.next.ServeHTTP(w, r)
}

func (s *statics) serve(w http.ResponseWriter, r *http.Request, rt staticRoute, rel string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := rt.resolve(rel)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, fi, err := openRegular(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()

	h := w.Header()
	// The precompressed siblings, if any: the response then depends on
	// Accept-Encoding, whichever is sent.
	var variants []variant
	for _, v := range []variant{{coding: "br", ext: ".br"}, {coding: "gzip", ext: ".gz"}} {
		if vname, ok := rt.resolve(rel + v.ext); ok {
			if vf, vfi, err := openRegular(vname); err == nil {
				v.f, v.fi = vf, vfi
				defer vf.Close()
				variants = append(variants, v)
			}
		}
	}
	if len(variants) > 0 {
		h.Add("Vary", "Accept-Encoding")
	}
	if v := pickEncoding(r.Header.Values("Accept-Encoding"), variants); v != nil {
		// The original's type, not that of a .gz or .br file.
		ctype := mime.TypeByExtension(path.Ext(rel))
		if ctype == "" {
			var buf [512]byte
			n, _ := io.ReadFull(f, buf[:])
			ctype = http.DetectContentType(buf[:n])
		}
		h.Set("Content-Type", ctype)
		f, fi = v.f, v.fi
		setETag(h, fi, v.coding)
		w = &encodedWriter{ResponseWriter: w, coding: v.coding}
	} else {
		setETag(h, fi, "")
	}
	if s.maxAge > 0 {
		h.Set("Cache-Control", "public, max-age="+strconv.FormatInt(int64(s.maxAge/time.Second), 10))
	}
	// ETag and If-None-Match, Last-Modified and If-Modified-Since, Range
	// and If-Range, HEAD, and the Content-Type of the file's extension
	// (else sniffed) for the plain file.
	// The type goes by the name asked for, not a symlink's target.
	http.ServeContent(w, r, path.Base(rel), fi.ModTime(), f)
}

// encodedWriter adds Content-Encoding to a 200 or 206 response of a
// precompressed variant as its header goes out. Set before, it would stop
// ServeContent from sending Content-Length (it assumes a writer that
// compresses on the fly) and would stay on a 304 or an error.
type encodedWriter struct {
	http.ResponseWriter
	coding string
}

func (w *encodedWriter) WriteHeader(code int) {
	if code == http.StatusOK || code == http.StatusPartialContent {
		w.Header().Set("Content-Encoding", w.coding)
	}
	w.ResponseWriter.WriteHeader(code)
}

// ReadFrom keeps sendfile(2) for the file.
func (w *encodedWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *encodedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// A variant is a precompressed sibling of a file.
type variant struct {
	coding string // the Content-Encoding
	ext    string // of the sibling: the file's name and this
	f      *os.File
	fi     os.FileInfo
}

// resolve maps rel, the request path after the prefix, to a file name
// inside rt.dir with every symlink resolved, or reports false: for a path
// with an empty, "." or ".." segment, a backslash or NUL, and for one whose
// symlinks lead outside rt.dir or nowhere.
func (rt staticRoute) resolve(rel string) (string, bool) {
	if rel == "" || strings.ContainsAny(rel, "\\\x00") {
		return "", false
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", false
		}
	}
	name, err := filepath.EvalSymlinks(filepath.Join(rt.dir, filepath.FromSlash(rel)))
	if err != nil || !strings.HasPrefix(name, strings.TrimSuffix(rt.dir, string(filepath.Separator))+string(filepath.Separator)) {
		return "", false
	}
	return name, true
}

// openRegular opens name if it is a regular file. name has its symlinks
// resolved already; O_NOFOLLOW refuses one that became a symlink since.
func openRegular(name string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// setETag sets a strong validator from the served file's modification
// time and size (and coding: each encoding is its own representation).
func setETag(h http.Header, fi os.FileInfo, coding string) {
	tag := strconv.FormatInt(fi.ModTime().UnixNano(), 36) + "-" + strconv.FormatInt(fi.Size(), 36)
	if coding != "" {
		tag += "-" + coding
	}
	h.Set("ETag", `"`+tag+`"`)
}

// pickEncoding chooses the variant to send for the Accept-Encoding field
// values ae: the one with the highest q-value the client accepts (q > 0,
// by name or through "*"), brotli before gzip on a tie; nil for the file
// itself.
func pickEncoding(ae []string, variants []variant) *variant {
	if len(variants) == 0 {
		return nil
	}
	q := map[string]float64{}
	for _, v := range ae {
		for _, item := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding == "" {
				continue
			}
			weight := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0 // not understood: not accepted
					}
					weight = f
				}
			}
			q[coding] = weight
		}
	}
	var best *variant
	bestQ := 0.0
	for i := range variants {
		v := &variants[i]
		w, ok := q[v.coding]
		if !ok && v.coding == "gzip" {
			w, ok = q["x-gzip"]
		}
		if !ok {
			w = q["*"]
		}
		if w > bestQ {
			best, bestQ = v, w
		}
	}
	return best
}
