package table

// Evaluation of parsed $filter expressions.

type node interface {
	eval(r Record) bool
}

type logicNode struct {
	and  bool
	l, r node
}

func (n *logicNode) eval(r Record) bool {
	if n.and {
		return n.l.eval(r) && n.r.eval(r)
	}
	return n.l.eval(r) || n.r.eval(r)
}

type notNode struct{ x node }

func (n *notNode) eval(r Record) bool { return !n.x.eval(r) }

// operand is a property reference or a literal.
type operand struct {
	prop   string
	isProp bool
	lit    Value
}

func (o operand) resolve(r Record) (Value, bool) {
	if o.isProp {
		return r.Lookup(o.prop)
	}
	return o.lit, true
}

// boolNode is a bare operand used as a condition: a Boolean property or
// literal ("IsActive", "true").
type boolNode struct{ x operand }

func (n *boolNode) eval(r Record) bool {
	v, ok := n.x.resolve(r)
	return ok && v.Type == EdmBoolean && v.Bool
}

type cmpNode struct {
	op   string
	l, r operand
}

func (n *cmpNode) eval(r Record) bool {
	a, ok := n.l.resolve(r)
	if !ok {
		return false
	}
	b, ok := n.r.resolve(r)
	if !ok {
		return false
	}
	c, ok := compareValues(a, b)
	if !ok {
		return false
	}
	return holds(n.op, c)
}

func holds(op string, c int) bool {
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	}
	return c <= 0
}

// pins reports the string value this comparison fixes name to, if it is
// "name eq 'v'" (either way round).
func (n *cmpNode) pins(name string) (string, bool) {
	if n.op != "eq" {
		return "", false
	}
	for _, pair := range [2][2]operand{{n.l, n.r}, {n.r, n.l}} {
		p, lit := pair[0], pair[1]
		if p.isProp && p.prop == name && !lit.isProp && lit.lit.Type == EdmString {
			return lit.lit.Str, true
		}
	}
	return "", false
}
