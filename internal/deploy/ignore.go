package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"strings"
)

// IgnoreFile is the file in an app folder whose patterns leave files out of
// the package, as Azure Functions Core Tools reads it (gitignore syntax).
const IgnoreFile = ".funcignore"

// Ignore is a parsed .funcignore: gitignore rules applied in order, the
// last matching rule deciding. A directory that is ignored is not entered,
// so its files cannot be re-included (as in git).
type Ignore struct {
	rules []rule
}

// rule is one pattern line.
type rule struct {
	negate   bool     // "!pattern": re-include
	dirOnly  bool     // "pattern/": directories only
	anchored bool     // contains a '/': matched from the root
	segs     []string // pattern split on '/', "**" kept as a segment
	line     int
}

// ParseIgnore reads .funcignore text. A malformed glob is an error naming
// the line.
func ParseIgnore(data []byte) (*Ignore, error) {
	ig := &Ignore{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		r, ok, err := parseRule(sc.Text(), n)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", IgnoreFile, n, err)
		}
		if ok {
			ig.rules = append(ig.rules, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", IgnoreFile, err)
	}
	return ig, nil
}

// parseRule turns one line into a rule; ok is false for blanks and comments.
func parseRule(line string, n int) (rule, bool, error) {
	line = strings.TrimSuffix(line, "\r")
	if !strings.HasSuffix(line, `\ `) {
		line = strings.TrimRight(line, " \t")
	}
	if line == "" || strings.HasPrefix(line, "#") {
		return rule{}, false, nil
	}
	r := rule{line: n}
	switch {
	case strings.HasPrefix(line, "!"):
		r.negate, line = true, line[1:]
	case strings.HasPrefix(line, `\!`), strings.HasPrefix(line, `\#`):
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") {
		r.dirOnly, line = true, strings.TrimRight(line, "/")
	}
	r.anchored = strings.Contains(line, "/")
	line = strings.TrimPrefix(line, "/")
	if line == "" {
		return rule{}, false, nil
	}
	r.segs = strings.Split(line, "/")
	for _, s := range r.segs {
		if _, err := path.Match(s, ""); err != nil {
			return rule{}, false, fmt.Errorf("pattern %q: %w", s, err)
		}
	}
	return r, true, nil
}

// Match reports whether the slash-separated path rel (relative to the app
// root) is ignored; dir says whether it names a directory.
func (ig *Ignore) Match(rel string, dir bool) bool {
	if ig == nil {
		return false
	}
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	ignored := false
	for _, r := range ig.rules {
		if r.dirOnly && !dir {
			continue
		}
		if r.matches(parts) {
			ignored = !r.negate
		}
	}
	return ignored
}

func (r rule) matches(parts []string) bool {
	if !r.anchored {
		ok, _ := path.Match(r.segs[0], parts[len(parts)-1])
		return ok
	}
	return matchSegs(r.segs, parts)
}

// matchSegs matches pattern segments against path segments; "**" matches
// zero or more whole segments.
func matchSegs(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(parts); i++ {
				if matchSegs(pat[1:], parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], parts[0]); !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}
