package deploy

import (
	"fmt"
	"strings"
)

// placeholder stands for the value of a shell expansion ($VAR, $(cmd),
// `cmd`) in a command line taken from a document.
const placeholder = "X"

// shellCommands splits a shell script the way sh would for what the tests
// need: lines joined at a trailing backslash, comments dropped, quotes
// removed, expansions replaced by placeholder, and simple commands
// separated at ;, &&, || and |. It returns each simple command's words.
func shellCommands(script string) ([][]string, error) {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var (
		cmds  [][]string
		words []string
		cur   strings.Builder
		inW   bool
	)
	endWord := func() {
		if inW {
			words = append(words, cur.String())
			cur.Reset()
			inW = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	rs := []rune(script)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\n' || r == ';' || r == '|' || (r == '&' && i+1 < len(rs) && rs[i+1] == '&'):
			endCmd()
			if r != '\n' && i+1 < len(rs) && (rs[i+1] == '&' || rs[i+1] == '|') {
				i++
			}
		case r == ' ' || r == '\t':
			endWord()
		case r == '#' && !inW:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			endCmd()
		case r == '\'':
			j := indexFrom(rs, i+1, '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", script)
			}
			cur.WriteString(string(rs[i+1 : j]))
			inW, i = true, j
		case r == '"':
			j, err := closeDouble(rs, i+1)
			if err != nil {
				return nil, err
			}
			cur.WriteString(expand(string(rs[i+1 : j])))
			inW, i = true, j
		case r == '$':
			j := skipExpansion(rs, i)
			cur.WriteString(placeholder)
			inW, i = true, j-1
		case r == '\\' && i+1 < len(rs):
			cur.WriteRune(rs[i+1])
			inW, i = true, i+1
		default:
			cur.WriteRune(r)
			inW = true
		}
	}
	endCmd()
	return cmds, nil
}

func indexFrom(rs []rune, from int, c rune) int {
	for j := from; j < len(rs); j++ {
		if rs[j] == c {
			return j
		}
	}
	return -1
}

// closeDouble finds the " that closes a double-quoted string at from,
// stepping over $(...) inside it.
func closeDouble(rs []rune, from int) (int, error) {
	for j := from; j < len(rs); j++ {
		switch rs[j] {
		case '\\':
			j++
		case '$':
			j = skipExpansion(rs, j) - 1
		case '"':
			return j, nil
		}
	}
	return 0, fmt.Errorf("unterminated \" in %q", string(rs))
}

// skipExpansion returns the index just past the expansion at rs[i] == '$':
// $(...) with nesting, ${...}, or $NAME.
func skipExpansion(rs []rune, i int) int {
	if i+1 >= len(rs) {
		return i + 1
	}
	switch rs[i+1] {
	case '(', '{':
		open, closing := rs[i+1], map[rune]rune{'(': ')', '{': '}'}[rs[i+1]]
		depth := 0
		for j := i + 1; j < len(rs); j++ {
			switch rs[j] {
			case open:
				depth++
			case closing:
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(rs)
	}
	j := i + 1
	for j < len(rs) && (rs[j] == '_' || rs[j] >= 'A' && rs[j] <= 'Z' || rs[j] >= 'a' && rs[j] <= 'z' || rs[j] >= '0' && rs[j] <= '9') {
		j++
	}
	return j
}

// expand replaces the expansions inside a double-quoted string.
func expand(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		if rs[i] == '$' {
			i = skipExpansion(rs, i) - 1
			b.WriteString(placeholder)
			continue
		}
		b.WriteRune(rs[i])
	}
	return b.String()
}
