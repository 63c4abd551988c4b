package route

import (
	"strings"
)

// Parse parses a route template. A leading "/" or "~/" is ignored, as is a
// trailing "/". Errors are *ParseError values naming the template, the byte
// position and, where one is involved, the parameter.
func Parse(template string) (*Template, error) {
	p := &parser{tpl: template, names: map[string]bool{}}
	if err := p.trimPrefix(); err != nil {
		return nil, err
	}
	segs, err := p.segments()
	if err != nil {
		return nil, err
	}
	t := &Template{text: template, segments: segs}
	t.finish()
	return t, nil
}

type parser struct {
	tpl   string
	s     string // tpl without its "/" or "~/" prefix
	base  int    // offset of s in tpl
	i     int    // position in s
	names map[string]bool
}

func (p *parser) fail(pos int, param, msg string) error {
	return &ParseError{Template: p.tpl, Pos: p.base + pos, Param: param, Msg: msg}
}

func (p *parser) trimPrefix() error {
	switch {
	case strings.HasPrefix(p.tpl, "~/"):
		p.base = 2
	case strings.HasPrefix(p.tpl, "/"):
		p.base = 1
	case strings.HasPrefix(p.tpl, "~"):
		return p.fail(0, "", "a template may start with '~/' but not with '~' alone")
	}
	p.s = p.tpl[p.base:]
	return nil
}

func (p *parser) segments() ([]segment, error) {
	var segs []segment
	for p.i < len(p.s) {
		if p.s[p.i] == '/' {
			return nil, p.fail(p.i, "", "'/' cannot appear twice in a row; put a literal or a parameter between")
		}
		seg, err := p.segment()
		if err != nil {
			return nil, err
		}
		segs = append(segs, seg)
		if p.i < len(p.s) {
			p.i++ // the '/' that ended the segment
		}
	}
	return segs, p.checkCatchAllLast(segs)
}

func (p *parser) checkCatchAllLast(segs []segment) error {
	for i, s := range segs {
		for j, pt := range s.parts {
			if pt.param != nil && pt.param.catchAll && (i != len(segs)-1 || j != len(s.parts)-1) {
				return p.fail(len(p.s), pt.param.name, "a catch-all parameter must be the last part of the template")
			}
		}
	}
	return nil
}

func (p *parser) segment() (segment, error) {
	start := p.i
	var parts []part
	for p.i < len(p.s) && p.s[p.i] != '/' {
		var pt part
		var err error
		if p.s[p.i] == '{' && !strings.HasPrefix(p.s[p.i:], "{{") {
			pt, err = p.parameter()
		} else {
			pt, err = p.literal()
		}
		if err != nil {
			return segment{}, err
		}
		parts = append(parts, pt)
	}
	if err := p.checkSegment(start, parts); err != nil {
		return segment{}, err
	}
	return segment{parts: parts}, nil
}

// literal reads literal text up to a '/', the end or an unescaped '{'.
// "{{" and "}}" stand for '{' and '}'.
func (p *parser) literal() (part, error) {
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '/':
			return part{lit: []rune(b.String())}, nil
		case c == '{' || c == '}':
			if p.i+1 < len(p.s) && p.s[p.i+1] == c {
				b.WriteByte(c)
				p.i += 2
				continue
			}
			if c == '{' && p.i+1 < len(p.s) {
				return part{lit: []rune(b.String())}, nil
			}
			return part{}, p.fail(p.i, "", "unbalanced '"+string(c)+"' in literal (write '"+string(c)+string(c)+"' for a literal brace)")
		case c == '?':
			return part{}, p.fail(p.i, "", "a literal cannot contain '?'")
		}
		b.WriteByte(c)
		p.i++
	}
	return part{lit: []rune(b.String())}, nil
}

// parameter reads "{...}" starting at p.i; inside, "{{" and "}}" are escaped
// braces (as in regex(^\d{{3}}$)).
func (p *parser) parameter() (part, error) {
	open := p.i
	j := open + 1
	for {
		if j >= len(p.s) {
			return part{}, p.fail(open, "", "'{' is never closed by '}'")
		}
		c := p.s[j]
		if c == '{' {
			if j+1 < len(p.s) && p.s[j+1] == '{' {
				j += 2
				continue
			}
			return part{}, p.fail(j, "", "a '{' inside a parameter must be escaped as '{{'")
		}
		if c == '}' {
			if j+1 < len(p.s) && p.s[j+1] == '}' {
				j += 2
				continue
			}
			break
		}
		j++
	}
	p.i = j + 1
	inside := strings.ReplaceAll(strings.ReplaceAll(p.s[open+1:j], "}}", "}"), "{{", "{")
	prm, err := p.paramText(open, inside)
	if err != nil {
		return part{}, err
	}
	return part{param: prm}, nil
}

func (p *parser) paramText(pos int, text string) (*param, error) {
	spec := parseParamText(text)
	if strings.HasPrefix(text, "*") && strings.HasSuffix(text, "?") {
		return nil, p.fail(pos, spec.name, "a catch-all parameter cannot be optional")
	}
	if spec.optional && spec.hasDefault {
		return nil, p.fail(pos, spec.name, "an optional parameter cannot have a default value")
	}
	if spec.name == "" || strings.ContainsAny(spec.name, "/{}?*") {
		return nil, p.fail(pos, spec.name, "invalid parameter name: use a non-empty name without '/', '{', '}', '?' or '*'")
	}
	key := strings.ToLower(spec.name)
	if p.names[key] {
		return nil, p.fail(pos, spec.name, "the parameter name appears more than once (names are case-insensitive)")
	}
	p.names[key] = true
	prm := &param{name: spec.name, optional: spec.optional, catchAll: spec.catchAll, hasDefault: spec.hasDefault, def: spec.def}
	for _, ct := range spec.constraints {
		c, err := resolveConstraint(ct)
		if err != nil {
			return nil, p.fail(pos, spec.name, err.Error())
		}
		prm.constraints = append(prm.constraints, c)
	}
	return prm, nil
}

// checkSegment applies RoutePatternParser.IsSegmentValid: no catch-all in a
// complex segment, an optional parameter in a complex segment only last and
// right after a ".", and never two parameters in a row.
func (p *parser) checkSegment(start int, parts []part) error {
	if len(parts) == 1 {
		return nil
	}
	for i := range parts {
		prm := parts[i].param
		if prm == nil {
			continue
		}
		if prm.catchAll {
			return p.fail(start, prm.name, "a segment with more than one part cannot hold a catch-all parameter")
		}
		if i > 0 && parts[i-1].param != nil {
			return p.fail(start, prm.name, "two parameters cannot be next to each other in a segment; put a literal between them")
		}
		if !prm.optional {
			continue
		}
		if i != len(parts)-1 {
			return p.fail(start, prm.name, "an optional parameter must be the last part of its segment")
		}
		if string(parts[i-1].lit) != "." {
			return p.fail(start, prm.name, "only a period (.) can precede an optional parameter in a segment")
		}
		parts[i-1].separator = true
	}
	return nil
}
