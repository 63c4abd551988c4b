package table

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DateTimeFormat is how Azure sends Edm.DateTime and Timestamp values:
// RFC 3339 in UTC with a 7-digit fraction (100 ns ticks).
const DateTimeFormat = "2006-01-02T15:04:05.0000000Z"

// encodeOptions shapes the JSON written for an entity.
type encodeOptions struct {
	noMetadata  bool       // odata=nometadata: no annotations, no odata.etag
	metadataURL string     // odata.metadata value; empty omits it
	selected    *selection // $select: only these properties (nil = all)
	stored      bool       // the KV form: no ETag, Timestamp kept
}

// MarshalJSON writes the entity in Azure's JSON format with minimal
// metadata: "odata.etag", the keys, Timestamp and each property, annotated
// with "Name@odata.type" where the type cannot be inferred from JSON
// (Int64 as a string, DateTime, Guid, Binary as base64, and Double NaN or
// infinities).
func (e Entity) MarshalJSON() ([]byte, error) {
	return appendEntity(nil, e, encodeOptions{}), nil
}

func appendEntity(b []byte, e Entity, o encodeOptions) []byte {
	w := &objectWriter{b: append(b, '{')}
	if o.metadataURL != "" && !o.noMetadata {
		w.key("odata.metadata")
		w.b = appendString(w.b, o.metadataURL)
	}
	if e.ETag != "" && !o.noMetadata && !o.stored {
		w.key("odata.etag")
		w.b = appendString(w.b, e.ETag)
	}
	w.system(e, o)
	for _, name := range propertyNames(e, o) {
		w.property(name, e.Properties, o)
	}
	return append(w.b, '}')
}

// objectWriter appends the members of one JSON object.
type objectWriter struct {
	b []byte
	n int
}

func (w *objectWriter) key(name string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = appendString(w.b, name)
	w.b = append(w.b, ':')
}

func (w *objectWriter) system(e Entity, o encodeOptions) {
	if wanted(o, "PartitionKey") {
		w.key("PartitionKey")
		w.b = appendString(w.b, e.PartitionKey)
	}
	if wanted(o, "RowKey") {
		w.key("RowKey")
		w.b = appendString(w.b, e.RowKey)
	}
	if !e.Timestamp.IsZero() && wanted(o, "Timestamp") {
		w.key("Timestamp")
		w.b = appendString(w.b, e.Timestamp.UTC().Format(DateTimeFormat))
	}
}

// property writes one property; a selected property the entity does not
// have is written as null, as Azure does.
func (w *objectWriter) property(name string, props map[string]Value, o encodeOptions) {
	v, ok := props[name]
	if !ok {
		w.key(name)
		w.b = append(w.b, "null"...)
		return
	}
	if t := annotation(v); t != "" && !o.noMetadata {
		w.key(name + "@odata.type")
		w.b = appendString(w.b, string(t))
	}
	w.key(name)
	w.b = appendValue(w.b, v)
}

func wanted(o encodeOptions, name string) bool { return o.selected.has(name) }

func propertyNames(e Entity, o encodeOptions) []string {
	if o.selected == nil {
		names := make([]string, 0, len(e.Properties))
		for name := range e.Properties {
			names = append(names, name)
		}
		slices.Sort(names)
		return names
	}
	return o.selected.props
}

// annotation is the odata.type a property needs in minimal metadata.
func annotation(v Value) EdmType {
	switch v.Type {
	case EdmInt64, EdmDateTime, EdmGuid, EdmBinary:
		return v.Type
	case EdmDouble:
		if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
			return EdmDouble
		}
	}
	return ""
}

func appendValue(b []byte, v Value) []byte {
	switch v.Type {
	case EdmInt32:
		return strconv.AppendInt(b, v.Int, 10)
	case EdmInt64:
		return strconv.AppendQuote(b, strconv.FormatInt(v.Int, 10))
	case EdmDouble:
		return appendDouble(b, v.Float)
	case EdmBoolean:
		return strconv.AppendBool(b, v.Bool)
	case EdmDateTime:
		return appendString(b, v.Time.UTC().Format(DateTimeFormat))
	case EdmBinary:
		return appendString(b, encodeBinary(v.Bytes))
	}
	return appendString(b, v.Str)
}

// appendDouble writes a double so that it reads back as a double: always
// with a fraction or exponent ("5.0", not "5"), and NaN/Infinity/-Infinity
// as strings (they then carry an Edm.Double annotation).
func appendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if !strings.ContainsAny(string(b[start:]), ".e") {
		b = append(b, ".0"...)
	}
	return b
}

// appendString writes s as a JSON string, replacing invalid UTF-8.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// DecodeEntity reads one entity in Azure's JSON format (as clients send it
// to the REST API). odata.* fields and Timestamp are ignored; null
// properties are dropped (Azure does not store nulls).
func DecodeEntity(data []byte) (Entity, error) {
	return decodeEntity(data, false)
}

// decodeEntity reads an entity; system keeps Timestamp (the stored form).
func decodeEntity(data []byte, system bool) (Entity, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Entity{}, invalid("InvalidInput", "entity body is not a JSON object: %v", err)
	}
	return entityFromRaw(raw, system)
}

func entityFromRaw(raw map[string]json.RawMessage, system bool) (Entity, error) {
	e := Entity{Properties: make(map[string]Value, len(raw))}
	for name, r := range raw {
		if err := decodeField(&e, raw, name, r, system); err != nil {
			return Entity{}, err
		}
	}
	return e, nil
}

func decodeField(e *Entity, raw map[string]json.RawMessage, name string, r json.RawMessage, system bool) error {
	switch {
	case strings.HasPrefix(name, "odata."), strings.Contains(name, "@"):
		return nil
	case name == "PartitionKey":
		return decodeKey(&e.PartitionKey, name, r)
	case name == "RowKey":
		return decodeKey(&e.RowKey, name, r)
	case name == "Timestamp":
		if system {
			v, err := decodeTyped(name, r, EdmDateTime)
			e.Timestamp = v.Time
			return err
		}
		return nil
	}
	typ, err := annotationOf(raw, name)
	if err != nil || isNull(r) {
		return err
	}
	v, err := decodeTyped(name, r, typ)
	e.Properties[name] = v
	return err
}

func decodeKey(dst *string, name string, r json.RawMessage) error {
	s, ok := unquote(r)
	if !ok {
		return invalid("InvalidInput", "%s must be a JSON string", name)
	}
	*dst = s
	return nil
}

// unquote reads a JSON string, without reflection for plain strings.
func unquote(r []byte) (string, bool) {
	if len(r) >= 2 && r[0] == '"' && r[len(r)-1] == '"' && plainJSON(r[1:len(r)-1]) {
		return string(r[1 : len(r)-1]), true
	}
	var s string
	err := json.Unmarshal(r, &s)
	return s, err == nil
}

// plainJSON reports whether b needs no unescaping: no quote, backslash,
// control character or invalid UTF-8.
func plainJSON(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

func annotationOf(raw map[string]json.RawMessage, name string) (EdmType, error) {
	r, ok := raw[name+"@odata.type"]
	if !ok {
		return "", nil
	}
	var t string
	if err := json.Unmarshal(r, &t); err != nil {
		return "", invalid("InvalidInput", "%s@odata.type must be a JSON string", name)
	}
	return EdmType(t), nil
}

func isNull(r json.RawMessage) bool { return string(r) == "null" }

// decodeTyped reads a JSON value as typ; an empty typ infers the type from
// the JSON value as Azure does (string, Int32, Double, Boolean).
func decodeTyped(name string, r json.RawMessage, typ EdmType) (Value, error) {
	switch typ {
	case "":
		return inferValue(name, r)
	case EdmString:
		s, err := jsonString(name, r)
		return String(s), err
	case EdmInt32, EdmInt64:
		return decodeInt(name, r, typ)
	case EdmDouble:
		return decodeDouble(name, r)
	case EdmBoolean:
		var b bool
		if err := json.Unmarshal(r, &b); err != nil {
			return Value{}, badValue(name, typ, r)
		}
		return Bool(b), nil
	case EdmDateTime, EdmGuid, EdmBinary:
		s, err := jsonString(name, r)
		if err != nil {
			return Value{}, err
		}
		return parseTypedString(name, typ, s)
	}
	return Value{}, invalid("InvalidInput", "property %q: unsupported type %q", name, typ)
}

func inferValue(name string, r json.RawMessage) (Value, error) {
	switch {
	case len(r) == 0:
		return Value{}, badValue(name, "", r)
	case r[0] == '"':
		s, err := jsonString(name, r)
		return String(s), err
	case r[0] == 't' || r[0] == 'f':
		return Bool(r[0] == 't'), nil
	case r[0] == '{' || r[0] == '[':
		return Value{}, invalid("InvalidInput", "property %q: objects and arrays are not supported as property values", name)
	}
	if i, err := strconv.ParseInt(string(r), 10, 32); err == nil {
		return Int32(int32(i)), nil
	}
	return decodeDouble(name, r)
}

func jsonString(name string, r json.RawMessage) (string, error) {
	s, ok := unquote(r)
	if !ok {
		return "", invalid("InvalidInput", "property %q: expected a JSON string, got %s", name, clip(r))
	}
	return s, nil
}

// decodeInt reads Int32 (a JSON number) or Int64 (a string, as Azure sends
// it; a bare number is accepted too).
func decodeInt(name string, r json.RawMessage, typ EdmType) (Value, error) {
	text := string(r)
	if len(r) > 0 && r[0] == '"' {
		s, err := jsonString(name, r)
		if err != nil {
			return Value{}, err
		}
		text = s
	}
	bits := 64
	if typ == EdmInt32 {
		bits = 32
	}
	i, err := strconv.ParseInt(text, 10, bits)
	if err != nil {
		return Value{}, badValue(name, typ, r)
	}
	return Value{Type: typ, Int: i}, nil
}

func decodeDouble(name string, r json.RawMessage) (Value, error) {
	text := string(r)
	if len(r) > 0 && r[0] == '"' {
		s, err := jsonString(name, r)
		if err != nil {
			return Value{}, err
		}
		text = s
	}
	switch text {
	case "NaN":
		return Double(math.NaN()), nil
	case "Infinity", "INF":
		return Double(math.Inf(1)), nil
	case "-Infinity", "-INF":
		return Double(math.Inf(-1)), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return Value{}, badValue(name, EdmDouble, r)
	}
	return Double(f), nil
}

func parseTypedString(name string, typ EdmType, s string) (Value, error) {
	switch typ {
	case EdmDateTime:
		t, err := ParseDateTime(s)
		if err != nil {
			return Value{}, invalid("InvalidInput", "property %q: %v", name, err)
		}
		return DateTime(t), nil
	case EdmGuid:
		if !ValidGuid(s) {
			return Value{}, invalid("InvalidInput", "property %q: %q is not a GUID", name, s)
		}
		return Guid(s), nil
	}
	bin, err := decodeBase64(s)
	if err != nil {
		return Value{}, invalid("InvalidInput", "property %q: Edm.Binary is not base64: %v", name, err)
	}
	return Binary(bin), nil
}

// ParseDateTime reads an RFC 3339 date-time with any fraction; a value
// without a zone is taken as UTC.
func ParseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return ticks(t), nil
		}
	}
	return time.Time{}, invalid("InvalidInput", "%q is not an RFC 3339 date-time", s)
}

func badValue(name string, typ EdmType, r json.RawMessage) error {
	if typ == "" {
		return invalid("InvalidInput", "property %q: unsupported JSON value %s", name, clip(r))
	}
	return invalid("InvalidInput", "property %q: %s is not a valid %s", name, clip(r), typ)
}

func clip(r []byte) string {
	if len(r) > 40 {
		return string(r[:40]) + "..."
	}
	return string(r)
}
