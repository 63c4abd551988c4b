package route

import "strings"

// paramSpec is the inside of "{...}" split into its pieces.
type paramSpec struct {
	name        string
	catchAll    bool
	optional    bool
	hasDefault  bool
	def         string
	constraints []string
}

// parseParamText splits the inside of a parameter the way ASP.NET Core's
// RouteParameterParser does: an optional "*" or "**" prefix, an optional "?"
// suffix, the name up to the first ':' or '=' (a name may start with either),
// ":constraint" or ":constraint(args)" repeated, then "=default".
func parseParamText(text string) paramSpec {
	var spec paramSpec
	if text == "" {
		return spec
	}
	start, end := 0, len(text)-1
	if strings.HasPrefix(text, "**") {
		spec.catchAll, start = true, 2
	} else if text[0] == '*' {
		spec.catchAll, start = true, 1
	}
	if text[end] == '?' {
		spec.optional = true
		end--
	}
	i := start
	for ; i <= end; i++ {
		c := text[i]
		if (c == ':' || c == '=') && i != start {
			spec.name = text[start:i]
			i--
			break
		}
		if i == end {
			spec.name = text[start : end+1]
		}
	}
	spec.constraints, i = parseConstraintTexts(text, i, end)
	if i <= end && text[i] == '=' {
		spec.hasDefault = true
		spec.def = text[i+1 : end+1]
	}
	return spec
}

type constraintState int

const (
	stStart constraintState = iota
	stName
	stParen
	stEnd
)

// parseConstraintTexts is ASP.NET Core's ParseConstraints state machine:
// it returns the constraint texts ("int", "range(1,5)") and the index where
// a default value ("=...") would start. Parentheses may hold ':' and '='
// (regex(a:b)) as long as they are closed.
func parseConstraintTexts(text string, i, end int) ([]string, int) {
	var out []string
	state, start := stStart, i
	for state != stEnd {
		has := i <= end
		var c byte
		if has {
			c = text[i]
		}
		switch state {
		case stStart:
			state, start, i = startState(has, c, i, start)
		case stName:
			out, state, start, i = nameState(text, out, has, c, i, start)
		case stParen:
			out, state, start, i = parenState(text, out, has, c, i, end, start)
		}
		i++
	}
	return out, i
}

func startState(has bool, c byte, i, start int) (constraintState, int, int) {
	switch {
	case !has:
		return stEnd, start, i
	case c == ':':
		return stName, i + 1, i
	case c == '(':
		return stParen, start, i
	case c == '=':
		return stEnd, start, i - 1
	}
	return stStart, start, i
}

func nameState(text string, out []string, has bool, c byte, i, start int) ([]string, constraintState, int, int) {
	add := func() []string {
		if i > start {
			return append(out, text[start:i])
		}
		return out
	}
	switch {
	case !has:
		return add(), stEnd, start, i
	case c == ':':
		return add(), stName, i + 1, i
	case c == '(':
		return out, stParen, start, i
	case c == '=':
		return add(), stEnd, start, i - 1
	}
	return out, stName, start, i
}

func parenState(text string, out []string, has bool, c byte, i, end, start int) ([]string, constraintState, int, int) {
	switch {
	case !has:
		return append(out, text[start:i]), stEnd, start, i
	case c == ')':
		if i+1 > end {
			return append(out, text[start:i+1]), stEnd, start, i
		}
		switch text[i+1] {
		case ':':
			return append(out, text[start:i+1]), stStart, i + 1, i
		case '=':
			return append(out, text[start:i+1]), stEnd, start, i
		}
	case c == ':' || c == '=':
		if k := strings.IndexByte(text[i+1:], ')'); k >= 0 {
			return out, stParen, start, i + 1 + k
		}
		out = append(out, text[start:i])
		if c == ':' {
			return out, stName, i + 1, i
		}
		return out, stEnd, start, i - 1
	}
	return out, stParen, start, i
}
