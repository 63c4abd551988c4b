package route

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// request is a path split into segments once, so a Table can try many
// templates against it.
type request struct {
	raw  string   // the path without its leading '/'
	segs []string // percent-decoded segments
	offs []int    // byte offset of each segment in raw
}

// newRequest splits an escaped path (as in url.URL.EscapedPath, after the
// route prefix) into segments the way ASP.NET Core's PathTokenizer does: a
// single trailing '/' is ignored, and "a//b" has an empty segment (which
// never matches).
func newRequest(path string) *request {
	r := &request{raw: strings.TrimPrefix(path, "/")}
	body := r.raw
	if strings.HasSuffix(body, "/") {
		body = body[:len(body)-1]
	}
	if r.raw == "" {
		return r
	}
	off := 0
	for {
		i := strings.IndexByte(body[off:], '/')
		end := len(body)
		if i >= 0 {
			end = off + i
		}
		r.segs = append(r.segs, decode(body[off:end]))
		r.offs = append(r.offs, off)
		if i < 0 {
			return r
		}
		off = end + 1
	}
}

// decode percent-decodes s as ASP.NET Core decodes a request path: "%2F"
// stays encoded (it is not a separator), malformed escapes stay as they
// are, and a result that is not UTF-8 leaves s undecoded.
func decode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c := unhex(s[i+1])<<4 | unhex(s[i+2])
			if c != '/' {
				b = append(b, c)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	if !utf8.Valid(b) {
		return s
	}
	return string(b)
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// Match matches an escaped request path (the part after the route prefix;
// a leading '/' is optional) and returns the route values. Literals match
// case-insensitively; each segment is percent-decoded first. An optional
// parameter that is absent is left out of the map unless it has a default;
// a catch-all captures the rest of the path, '/' included.
func (t *Template) Match(path string) (map[string]string, bool) {
	return t.match(newRequest(path))
}

func (t *Template) match(r *request) (map[string]string, bool) {
	if !t.fits(r) {
		return nil, false
	}
	values, ok := t.capture(r)
	if !ok || !t.satisfies(values) {
		return nil, false
	}
	return values, true
}

// fits is RoutePatternMatcher's first pass: segment counts, literals, and
// what missing trailing segments allow.
func (t *Template) fits(r *request) bool {
	for i, s := range r.segs {
		if s == "" || i >= len(t.segments) {
			return false
		}
		seg := &t.segments[i]
		if seg.catchAll() != nil {
			return true
		}
		if seg.simple() && seg.parts[0].param == nil && !foldEqual([]rune(s), seg.parts[0].lit) {
			return false
		}
	}
	for i := len(r.segs); i < len(t.segments); i++ {
		seg := &t.segments[i]
		p := seg.parts[0].param
		if !seg.simple() || p == nil {
			return false
		}
		if !p.catchAll && !p.optional && !p.hasDefault {
			return false
		}
	}
	return true
}

// capture is the second pass: it collects parameter values and matches
// complex segments.
func (t *Template) capture(r *request) (map[string]string, bool) {
	values := make(map[string]string, len(t.names))
	for i, s := range r.segs {
		seg := &t.segments[i]
		if p := seg.catchAll(); p != nil {
			values[p.name] = decode(r.raw[r.offs[i]:])
			break
		}
		if !seg.simple() {
			if !matchComplex(seg.parts, []rune(s), values) {
				return nil, false
			}
			continue
		}
		if p := seg.parts[0].param; p != nil {
			values[p.name] = s
		}
	}
	for _, seg := range t.segments {
		for _, pt := range seg.parts {
			if p := pt.param; p != nil && p.hasDefault {
				if _, ok := values[p.name]; !ok {
					values[p.name] = p.def
				}
			}
		}
	}
	return values, true
}

// satisfies checks constraints against the captured values, defaults
// included; an absent optional parameter or catch-all passes.
func (t *Template) satisfies(values map[string]string) bool {
	for _, seg := range t.segments {
		for _, pt := range seg.parts {
			p := pt.param
			if p == nil || len(p.constraints) == 0 {
				continue
			}
			v, ok := values[p.name]
			if !ok {
				continue
			}
			for _, c := range p.constraints {
				if !c.match(v) {
					return false
				}
			}
		}
	}
	return true
}

// foldEqual compares like .NET's OrdinalIgnoreCase: rune by rune, after
// mapping both to upper case.
func foldEqual(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && unicode.ToUpper(a[i]) != unicode.ToUpper(b[i]) {
			return false
		}
	}
	return true
}

// lastIndexFold is the last index of lit in s, ignoring case, or -1.
func lastIndexFold(s, lit []rune) int {
	for i := len(s) - len(lit); i >= 0; i-- {
		if foldEqual(s[i:i+len(lit)], lit) {
			return i
		}
	}
	return -1
}
