package table

import "strings"

// Filter is a parsed OData $filter expression as Azure Table storage
// accepts it: comparisons (eq ne gt ge lt le) between properties and
// literals, combined with and, or, not and parentheses.
//
// Semantics: a comparison with a missing property, or between values of
// different kinds (a string and a number), is false, whatever the operator.
// Numbers compare across Int32, Int64 and Double (Azure requires the L
// suffix for Int64; Tandem accepts both). Strings compare by byte
// (ordinal), GUIDs case-insensitively.
type Filter struct {
	root node
}

// Record is what a filter is evaluated against.
type Record interface {
	Lookup(name string) (Value, bool)
}

const (
	maxFilterLen   = 64 * 1024
	maxFilterDepth = 100
)

// ParseFilter parses a $filter string. An empty string gives a filter that
// matches everything.
func ParseFilter(s string) (*Filter, error) {
	if strings.TrimSpace(s) == "" {
		return &Filter{}, nil
	}
	if len(s) > maxFilterLen {
		return nil, invalid("InvalidInput", "$filter is longer than %d bytes", maxFilterLen)
	}
	p := &parser{lex: lexer{src: s}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, filterError(p.tok.pos, "unexpected %s", p.describe())
	}
	return &Filter{root: root}, nil
}

// Match reports whether r satisfies the filter.
func (f *Filter) Match(r Record) bool {
	return f == nil || f.root == nil || f.root.eval(r)
}

// pinned returns the value a top-level "and" conjunct pins name to
// (name eq 'x'), used to narrow a scan; the whole filter still applies.
func (f *Filter) pinned(name string) (string, bool) {
	if f == nil {
		return "", false
	}
	return pinnedIn(f.root, name)
}

func pinnedIn(n node, name string) (string, bool) {
	switch n := n.(type) {
	case *logicNode:
		if !n.and {
			return "", false
		}
		if v, ok := pinnedIn(n.l, name); ok {
			return v, true
		}
		return pinnedIn(n.r, name)
	case *cmpNode:
		return n.pins(name)
	}
	return "", false
}

type parser struct {
	lex   lexer
	tok   token
	depth int
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	p.tok = t
	return err
}

func (p *parser) keyword(word string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, word)
}

func (p *parser) describe() string {
	switch p.tok.kind {
	case tokEOF:
		return "end of filter"
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	case tokIdent:
		return "'" + p.tok.text + "'"
	}
	return "literal"
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxFilterDepth {
		return filterError(p.tok.pos, "nested more than %d levels", maxFilterDepth)
	}
	return nil
}

func (p *parser) parseOr() (node, error) {
	return p.parseLogic("or", false, p.parseAnd)
}

func (p *parser) parseAnd() (node, error) {
	return p.parseLogic("and", true, p.parseUnary)
}

func (p *parser) parseLogic(word string, and bool, operand func() (node, error)) (node, error) {
	l, err := operand()
	for err == nil && p.keyword(word) {
		if err = p.advance(); err != nil {
			break
		}
		var r node
		if r, err = operand(); err == nil {
			l = &logicNode{and: and, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) parseUnary() (node, error) {
	if !p.keyword("not") {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if err := p.advance(); err != nil {
		return nil, err
	}
	x, err := p.parseUnary()
	return &notNode{x: x}, err
}

func (p *parser) parsePrimary() (node, error) {
	if p.tok.kind == tokLParen {
		return p.parseGroup()
	}
	l, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	op := strings.ToLower(p.tok.text)
	if p.tok.kind != tokIdent || !isComparison(op) {
		return &boolNode{x: l}, nil
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	r, err := p.parseOperand()
	return &cmpNode{op: op, l: l, r: r}, err
}

func (p *parser) parseGroup() (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if err := p.advance(); err != nil {
		return nil, err
	}
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokRParen {
		return nil, filterError(p.tok.pos, "expected ')', found %s", p.describe())
	}
	return x, p.advance()
}

func (p *parser) parseOperand() (operand, error) {
	t := p.tok
	switch {
	case t.kind == tokLiteral:
		return operand{lit: t.val}, p.advance()
	case t.kind == tokIdent && !isKeyword(strings.ToLower(t.text)):
		return operand{prop: t.text, isProp: true}, p.advance()
	}
	return operand{}, filterError(t.pos, "expected a property name or a literal, found %s", p.describe())
}

func isComparison(op string) bool {
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
		return true
	}
	return false
}

func isKeyword(w string) bool {
	return isComparison(w) || w == "and" || w == "or" || w == "not"
}
