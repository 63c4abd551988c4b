package route

// matchComplex matches a segment with several parts ("{name}.{ext?}",
// "file-{id}") the way ASP.NET Core's RoutePatternMatcher does: from the
// right, each literal is found at its last occurrence and the parameter
// between two literals takes the text between them. Every parameter must
// get a non-empty value. A trailing ".{x?}" is tried with and without x.
func matchComplex(parts []part, seg []rune, values map[string]string) bool {
	last := len(parts) - 1
	p := parts[last].param
	if p == nil || !p.optional || !parts[last-1].separator {
		return matchComplexFrom(parts, seg, values, last)
	}
	if matchComplexFrom(parts, seg, values, last) {
		return true
	}
	if hasSuffixFold(seg, parts[last-1].lit) {
		return false
	}
	return matchComplexFrom(parts, seg, values, last-2)
}

func hasSuffixFold(s, lit []rune) bool {
	return len(s) >= len(lit) && foldEqual(s[len(s)-len(lit):], lit)
}

// complexScan holds the state of one right-to-left scan.
type complexScan struct {
	parts   []part
	seg     []rune
	pending *param // parameter waiting for the literal on its left
	lastLit *part  // left-most literal seen since the pending parameter
	end     int    // text right of end is consumed
	out     map[string]string
}

func matchComplexFrom(parts []part, seg []rune, values map[string]string, from int) bool {
	sc := &complexScan{parts: parts, seg: seg, end: len(seg), out: map[string]string{}}
	for i := from; i >= 0; i-- {
		if !sc.step(i) {
			return false
		}
	}
	if sc.end != 0 && parts[0].param == nil {
		return false // a leading literal must reach the start of the segment
	}
	for k, v := range sc.out {
		values[k] = v
	}
	return true
}

func (sc *complexScan) step(i int) bool {
	pt := &sc.parts[i]
	newEnd := sc.end
	if pt.param != nil {
		sc.pending = pt.param
	} else {
		sc.lastLit = pt
		limit := sc.end
		if sc.pending != nil {
			limit-- // leave at least one character for the pending parameter
		}
		if limit <= 0 {
			return false
		}
		at := lastIndexFold(sc.seg[:limit], pt.lit)
		if at < 0 {
			return false
		}
		if i == len(sc.parts)-1 && at+len(pt.lit) != len(sc.seg) {
			return false // a trailing literal must end the segment
		}
		newEnd = at
	}
	if sc.pending != nil && ((sc.lastLit != nil && pt.param == nil) || i == 0) {
		if !sc.assign(i, pt, newEnd) {
			return false
		}
	}
	sc.end = newEnd
	return true
}

func (sc *complexScan) assign(i int, pt *part, newEnd int) bool {
	start := 0
	if sc.lastLit != nil && !(i == 0 && pt.param != nil) {
		start = newEnd + len(sc.lastLit.lit)
	}
	if sc.end-start <= 0 {
		return false
	}
	sc.out[sc.pending.name] = string(sc.seg[start:sc.end])
	sc.pending, sc.lastLit = nil, nil
	return true
}
