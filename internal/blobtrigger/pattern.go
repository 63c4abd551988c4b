package blobtrigger

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pattern is a blobTrigger's "path" parsed as the Azure blob extension
// parses it (BlobPathSource.Create, BindingTemplateSource.FromString):
// "container/blob-template". The container part is literal; the blob part
// has literal text, {name} captures and the escapes {{ and }}. A capture
// matches any run of characters but a newline, greedily, left to right
// ("(?<name>.*)"), and the whole "container/blob" path must match, case
// sensitively. A path without captures names one blob, or with no '/'
// every blob of the container.
type Pattern struct {
	Raw       string
	Container string
	Blob      string   // the blob part as written ("" for a container only)
	names     []string // capture names in order (a repeated name keeps its last value)
	re        *regexp.Regexp
}

// ParsePattern parses a blobTrigger path; errors say what is wrong with it
// the way the host's FormatExceptions do.
func ParsePattern(path string) (*Pattern, error) {
	if !utf8.ValidString(path) {
		return nil, fmt.Errorf("invalid blob trigger path %q: not UTF-8", path)
	}
	slash := strings.IndexByte(path, '/')
	p := &Pattern{Raw: path, Container: path}
	if slash >= 0 {
		p.Container, p.Blob = path[:slash], path[slash+1:]
		if slash == 0 || slash == len(path)-1 {
			return nil, fmt.Errorf("invalid blob trigger path %q: paths must be in the format 'container/blob'", path)
		}
	}
	if strings.ContainsRune(p.Container, '\\') {
		return nil, fmt.Errorf("invalid blob trigger path %q: paths must be in the format 'container/blob'", path)
	}
	if strings.ContainsRune(p.Container, '{') {
		return nil, fmt.Errorf("invalid blob trigger path %q: container paths cannot contain {resolve} tokens", path)
	}
	toks, err := tokens(path)
	if err != nil {
		return nil, fmt.Errorf("invalid blob trigger path %q: %w", path, err)
	}
	if err := checkContainer(p.Container); err != nil {
		return nil, fmt.Errorf("invalid blob trigger path %q: %w", path, err)
	}
	var re strings.Builder
	re.WriteString("^")
	for _, t := range toks {
		if t.param == "" {
			re.WriteString(regexp.QuoteMeta(t.literal))
			continue
		}
		p.names = append(p.names, t.param)
		re.WriteString("(.*)")
	}
	// .NET's "$" also matches before a final newline.
	re.WriteString("\n?$")
	if len(p.names) > 0 {
		var err error
		if p.re, err = regexp.Compile(re.String()); err != nil {
			return nil, fmt.Errorf("invalid blob trigger path %q: %w", path, err)
		}
	}
	return p, nil
}

// Names are the pattern's capture names, in order.
func (p *Pattern) Names() []string { return p.names }

// Match reports whether the blob container/name fires the trigger and,
// if so, the captured values (the binding data the path adds).
func (p *Pattern) Match(container, name string) (map[string]string, bool) {
	if !strings.EqualFold(container, p.Container) {
		return nil, false
	}
	if p.re == nil { // FixedBlobPathSource: the path as written, escapes and all
		return map[string]string{}, p.Blob == "" || p.Blob == name
	}
	m := p.re.FindStringSubmatch(container + "/" + name)
	if m == nil {
		return nil, false
	}
	out := make(map[string]string, len(p.names))
	for i, n := range p.names {
		setFold(out, n, m[i+1])
	}
	return out, true
}

// setFold keeps one key per name, case-insensitively, the last value
// winning (the host's OrdinalIgnoreCase dictionary of regex groups).
func setFold(m map[string]string, k, v string) {
	for old := range m {
		if strings.EqualFold(old, k) {
			m[old] = v
			return
		}
	}
	m[k] = v
}

type token struct{ literal, param string }

// tokens splits a template as BindingTemplateParser.GetTokens does.
func tokens(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "{{"), strings.HasPrefix(s[i:], "}}"):
			out = append(out, token{literal: s[i : i+1]})
			i += 2
		case s[i] == '{':
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] != '}' {
				return nil, fmt.Errorf("missing closing bracket at position %d", i+1)
			}
			name, err := captureName(s[i+1 : i+1+end])
			if err != nil {
				return nil, err
			}
			out = append(out, token{param: name})
			i += end + 2
		case s[i] == '}':
			return nil, fmt.Errorf("missing opening bracket at position %d", i+1)
		default:
			end := strings.IndexAny(s[i:], "{}")
			if end < 0 {
				end = len(s) - i
			}
			out = append(out, token{literal: s[i : i+end]})
			i += end
		}
	}
	return out, nil
}

// captureName validates a {expression} of a trigger path: a C# identifier
// (BindingTemplateParser.IsValidIdentifier), an optional ":format" that a
// capture ignores, no dots (BuildCapturePattern) and no '-' (the built-ins
// such as {rand-guid} cannot be a regex group name).
func captureName(expr string) (string, error) {
	if expr == "" {
		return "", errors.New("the parameter name is empty")
	}
	if i := strings.IndexByte(expr, ':'); i > 0 {
		expr = expr[:i]
	}
	if !validIdentifier(expr) {
		return "", fmt.Errorf("invalid template expression '%s'", expr)
	}
	if strings.ContainsRune(expr, '.') {
		return "", errors.New("capture expressions can't include dot operators")
	}
	if strings.ContainsRune(expr, '-') {
		return "", fmt.Errorf("the parameter name '%s' is invalid", expr)
	}
	return expr, nil
}

func validIdentifier(s string) bool {
	for i, r := range s {
		letter := unicode.IsLetter(r) || unicode.Is(unicode.Nl, r)
		if i == 0 {
			if !letter && r != '_' {
				return false
			}
			continue
		}
		if !letter && !unicode.IsDigit(r) && !unicode.Is(unicode.Pc, r) && !unicode.Is(unicode.Mn, r) &&
			!unicode.Is(unicode.Mc, r) && !unicode.Is(unicode.Cf, r) && r != '.' && r != '-' {
			return false
		}
	}
	return s != ""
}

// checkContainer applies Azure's container name rules
// (BlobClientExtensions.ValidateContainerName): 3-63 lower-case letters,
// digits and single hyphens, starting and ending with a letter or digit;
// "$root" and "$logs" are allowed.
func checkContainer(name string) error {
	if name == "$root" || name == "$logs" {
		return nil
	}
	ok := len(name) >= 3 && len(name) <= 63 && !strings.Contains(name, "--") &&
		name[0] != '-' && name[len(name)-1] != '-'
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("invalid container name: %s", name)
	}
	return nil
}
