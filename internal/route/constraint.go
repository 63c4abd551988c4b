package route

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf16"
)

// constraint is one resolved inline constraint such as "int" or "min(1)".
type constraint struct {
	text  string
	match func(string) bool
}

// constraintKinds maps constraint names (case-insensitive, as in ASP.NET
// Core's RouteOptions.ConstraintMap) to builders taking the raw argument
// text; hasArgs is false when there were no parentheses.
var constraintKinds = map[string]func(args string, hasArgs bool) (func(string) bool, error){
	"int":       noArgs(func(v string) bool { return isInteger(v, 32) }),
	"long":      noArgs(func(v string) bool { return isInteger(v, 64) }),
	"bool":      noArgs(isBool),
	"datetime":  noArgs(isDateTime),
	"decimal":   noArgs(isDecimal),
	"double":    noArgs(isFloat),
	"float":     noArgs(isFloat),
	"guid":      noArgs(isGUID),
	"alpha":     noArgs(isAlpha),
	"required":  noArgs(func(v string) bool { return v != "" }),
	"minlength": lengthBound(func(n, l int64) bool { return l >= n }),
	"maxlength": lengthBound(func(n, l int64) bool { return l <= n }),
	"length":    lengthRange,
	"min":       longBound(func(n, v int64) bool { return v >= n }),
	"max":       longBound(func(n, v int64) bool { return v <= n }),
	"range":     longRange,
	"regex":     regexConstraint,
}

// resolveConstraint splits "name(args)" the way ASP.NET Core's
// DefaultInlineConstraintResolver does and builds the check.
func resolveConstraint(text string) (constraint, error) {
	name, args, hasArgs := text, "", false
	if i := strings.IndexByte(text, '('); i >= 0 && strings.HasSuffix(text, ")") {
		name, args, hasArgs = text[:i], text[i+1:len(text)-1], true
	}
	build, ok := constraintKinds[strings.ToLower(name)]
	if !ok {
		return constraint{}, fmt.Errorf("unknown constraint %q", text)
	}
	m, err := build(args, hasArgs)
	if err != nil {
		return constraint{}, fmt.Errorf("constraint %q: %w", text, err)
	}
	return constraint{text: text, match: m}, nil
}

func noArgs(m func(string) bool) func(string, bool) (func(string) bool, error) {
	return func(_ string, hasArgs bool) (func(string) bool, error) {
		if hasArgs {
			return nil, errors.New("takes no arguments")
		}
		return m, nil
	}
}

// intArgs parses comma-separated integer arguments (trimmed; .NET
// Convert.ChangeType accepts a sign and surrounding spaces).
func intArgs(args string, hasArgs bool, want, bits int) ([]int64, error) {
	if !hasArgs {
		return nil, fmt.Errorf("needs %d argument(s) in parentheses", want)
	}
	fields := strings.Split(args, ",")
	if len(fields) != want {
		return nil, fmt.Errorf("takes %d argument(s), got %d", want, len(fields))
	}
	out := make([]int64, len(fields))
	for i, f := range fields {
		n, ok := parseInteger(f, bits)
		if !ok {
			return nil, fmt.Errorf("argument %q is not a %d-bit integer", strings.TrimSpace(f), bits)
		}
		out[i] = n
	}
	return out, nil
}

func lengthBound(ok func(n, l int64) bool) func(string, bool) (func(string) bool, error) {
	return func(args string, hasArgs bool) (func(string) bool, error) {
		n, err := intArgs(args, hasArgs, 1, 32)
		if err != nil {
			return nil, err
		}
		if n[0] < 0 {
			return nil, errors.New("the length must not be negative")
		}
		return func(v string) bool { return ok(n[0], utf16Len(v)) }, nil
	}
}

func lengthRange(args string, hasArgs bool) (func(string) bool, error) {
	if !strings.Contains(args, ",") {
		return lengthBound(func(n, l int64) bool { return l == n })(args, hasArgs)
	}
	n, err := intArgs(args, hasArgs, 2, 32)
	if err != nil {
		return nil, err
	}
	if n[0] < 0 || n[1] < n[0] {
		return nil, errors.New("needs 0 <= minimum <= maximum")
	}
	return func(v string) bool { l := utf16Len(v); return l >= n[0] && l <= n[1] }, nil
}

func longBound(ok func(n, v int64) bool) func(string, bool) (func(string) bool, error) {
	return func(args string, hasArgs bool) (func(string) bool, error) {
		n, err := intArgs(args, hasArgs, 1, 64)
		if err != nil {
			return nil, err
		}
		return func(v string) bool {
			x, good := parseInteger(v, 64)
			return good && ok(n[0], x)
		}, nil
	}
}

func longRange(args string, hasArgs bool) (func(string) bool, error) {
	n, err := intArgs(args, hasArgs, 2, 64)
	if err != nil {
		return nil, err
	}
	if n[0] > n[1] {
		return nil, errors.New("the minimum must not exceed the maximum")
	}
	return func(v string) bool {
		x, good := parseInteger(v, 64)
		return good && x >= n[0] && x <= n[1]
	}, nil
}

// regexConstraint matches anywhere in the value, ignoring case, like .NET's
// Regex.IsMatch with RegexOptions.IgnoreCase. Go's RE2 syntax has no
// backreferences or lookaround; such patterns are refused at parse time.
func regexConstraint(args string, hasArgs bool) (func(string) bool, error) {
	if !hasArgs {
		return nil, errors.New("needs a pattern in parentheses")
	}
	re, err := regexp.Compile("(?i)" + args)
	if err != nil {
		return nil, fmt.Errorf("pattern does not compile (Go RE2 syntax): %w", err)
	}
	return re.MatchString, nil
}

// utf16Len is the .NET string length (UTF-16 code units) of v.
func utf16Len(v string) int64 {
	var n int64
	for _, r := range v {
		n += int64(utf16.RuneLen(r))
	}
	return n
}

func isAlpha(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
