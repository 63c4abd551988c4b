package table

import (
	"encoding/hex"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The OData $filter lexer: identifiers (property names and the operator
// keywords), parentheses and literals, which it turns into Values.

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokLParen
	tokRParen
	tokIdent
	tokLiteral
)

type token struct {
	kind tokenKind
	text string // identifier text
	val  Value  // literal value
	pos  int
}

type lexer struct {
	src string
	pos int
}

func filterError(pos int, format string, args ...any) error {
	return invalid("InvalidInput", "$filter at offset %d: "+format, append([]any{pos}, args...)...)
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	switch {
	case c == '(':
		l.pos++
		return token{kind: tokLParen, pos: start}, nil
	case c == ')':
		l.pos++
		return token{kind: tokRParen, pos: start}, nil
	case c == '\'':
		s, err := l.quoted()
		return token{kind: tokLiteral, val: String(s), pos: start}, err
	case c == '-' || isDigit(c):
		return l.number()
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	if isIdentStart(r) {
		return l.identOrTyped()
	}
	return token{}, filterError(start, "unexpected character %q", r)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(r rune) bool { return unicode.IsLetter(r) || r == '_' }
func isIdentPart(r rune) bool  { return isIdentStart(r) || unicode.IsDigit(r) }

// quoted reads a quoted string at l.pos; a doubled quote stands for one.
func (l *lexer) quoted() (string, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		l.pos++
		if c != '\'' {
			b.WriteByte(c)
			continue
		}
		if l.pos < len(l.src) && l.src[l.pos] == '\'' {
			b.WriteByte('\'')
			l.pos++
			continue
		}
		return b.String(), nil
	}
	return "", filterError(start, "unterminated string literal")
}

func (l *lexer) identOrTyped() (token, error) {
	start := l.pos
	for l.pos < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[l.pos:])
		if !isIdentPart(r) {
			break
		}
		l.pos += size
	}
	text := l.src[start:l.pos]
	if l.pos < len(l.src) && l.src[l.pos] == '\'' {
		return l.typed(start, text)
	}
	switch strings.ToLower(text) {
	case "true", "false":
		return token{kind: tokLiteral, val: Bool(strings.EqualFold(text, "true")), pos: start}, nil
	}
	return token{kind: tokIdent, text: text, pos: start}, nil
}

// typed reads prefix'...' literals: datetime, guid, X / binary (hex).
func (l *lexer) typed(start int, prefix string) (token, error) {
	s, err := l.quoted()
	if err != nil {
		return token{}, err
	}
	v, err := typedLiteral(strings.ToLower(prefix), s)
	if err != nil {
		return token{}, filterError(start, "%s'%s': %v", prefix, s, err)
	}
	return token{kind: tokLiteral, val: v, pos: start}, nil
}

func typedLiteral(prefix, s string) (Value, error) {
	switch prefix {
	case "datetime", "datetimeoffset":
		t, err := ParseDateTime(s)
		return DateTime(t), err
	case "guid":
		if !ValidGuid(s) {
			return Value{}, errorString("not a GUID")
		}
		return Guid(s), nil
	case "x", "binary":
		b, err := hex.DecodeString(s)
		if err != nil {
			return Value{}, errorString("not hexadecimal")
		}
		return Binary(b), nil
	}
	return Value{}, errorString("unknown literal type")
}

// number reads an integer (Int32, or Int64 with an L suffix or when too big
// for Int32) or a double (with a fraction, exponent or d/m/f suffix).
func (l *lexer) number() (token, error) {
	start := l.pos
	if l.src[l.pos] == '-' {
		l.pos++
	}
	digits := l.digits()
	isDouble := false
	if l.peekByte('.') {
		l.pos++
		digits += l.digits()
		isDouble = true
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') && l.exponent() {
		isDouble = true
	}
	if digits == 0 {
		return token{}, filterError(start, "malformed number")
	}
	text := l.src[start:l.pos]
	suffix := l.suffix()
	v, err := numberValue(text, suffix, isDouble)
	if err != nil {
		return token{}, filterError(start, "%q: %v", text+suffix, err)
	}
	return token{kind: tokLiteral, val: v, pos: start}, nil
}

func (l *lexer) digits() int {
	n := 0
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
		n++
	}
	return n
}

func (l *lexer) peekByte(c byte) bool { return l.pos < len(l.src) && l.src[l.pos] == c }

// exponent consumes e[+-]digits when present in full.
func (l *lexer) exponent() bool {
	save := l.pos
	l.pos++
	if l.peekByte('+') || l.peekByte('-') {
		l.pos++
	}
	if l.digits() == 0 {
		l.pos = save
		return false
	}
	return true
}

func (l *lexer) suffix() string {
	if l.pos >= len(l.src) || !strings.ContainsRune("LlDdMmFf", rune(l.src[l.pos])) {
		return ""
	}
	l.pos++
	return l.src[l.pos-1 : l.pos]
}

func numberValue(text, suffix string, isDouble bool) (Value, error) {
	switch {
	case suffix == "L" || suffix == "l":
		if isDouble {
			return Value{}, errorString("an L literal must be an integer")
		}
		i, err := strconv.ParseInt(text, 10, 64)
		return Int64(i), numErr(err)
	case suffix != "" || isDouble:
		f, err := strconv.ParseFloat(text, 64)
		return Double(f), numErr(err)
	}
	if i, err := strconv.ParseInt(text, 10, 32); err == nil {
		return Int32(int32(i)), nil
	}
	i, err := strconv.ParseInt(text, 10, 64)
	return Int64(i), numErr(err)
}

func numErr(err error) error {
	if err != nil {
		return errorString("out of range")
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }
