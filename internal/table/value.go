package table

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"strings"
	"time"
)

// EdmType is an Azure Table property type, named as in the OData
// annotations ("Prop@odata.type": "Edm.Int64").
type EdmType string

// The property types Azure Table storage supports.
const (
	EdmString   EdmType = "Edm.String"
	EdmInt32    EdmType = "Edm.Int32"
	EdmInt64    EdmType = "Edm.Int64"
	EdmDouble   EdmType = "Edm.Double"
	EdmBoolean  EdmType = "Edm.Boolean"
	EdmDateTime EdmType = "Edm.DateTime"
	EdmGuid     EdmType = "Edm.Guid"
	EdmBinary   EdmType = "Edm.Binary"
)

// Value is one typed property value. Which field holds the value depends on
// Type: Str for String and Guid, Int for Int32 and Int64, Float for Double,
// Bool for Boolean, Time (UTC) for DateTime, Bytes for Binary.
type Value struct {
	Type  EdmType
	Str   string
	Int   int64
	Float float64
	Bool  bool
	Time  time.Time
	Bytes []byte
}

// String returns an Edm.String value.
func String(s string) Value { return Value{Type: EdmString, Str: s} }

// Int32 returns an Edm.Int32 value.
func Int32(i int32) Value { return Value{Type: EdmInt32, Int: int64(i)} }

// Int64 returns an Edm.Int64 value.
func Int64(i int64) Value { return Value{Type: EdmInt64, Int: i} }

// Double returns an Edm.Double value.
func Double(f float64) Value { return Value{Type: EdmDouble, Float: f} }

// Bool returns an Edm.Boolean value.
func Bool(b bool) Value { return Value{Type: EdmBoolean, Bool: b} }

// DateTime returns an Edm.DateTime value, in UTC at Azure's 100 ns precision.
func DateTime(t time.Time) Value { return Value{Type: EdmDateTime, Time: ticks(t)} }

// Guid returns an Edm.Guid value; see ValidGuid.
func Guid(s string) Value { return Value{Type: EdmGuid, Str: s} }

// Binary returns an Edm.Binary value.
func Binary(b []byte) Value { return Value{Type: EdmBinary, Bytes: b} }

// ticks truncates t to Azure's 100 ns resolution, in UTC.
func ticks(t time.Time) time.Time { return t.UTC().Truncate(100 * time.Nanosecond) }

// ValidGuid reports whether s is a GUID in the 8-4-4-4-12 hex form.
func ValidGuid(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
		} else if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Any returns the value as a plain Go value (string, int32, int64, float64,
// bool, time.Time or []byte).
func (v Value) Any() any {
	switch v.Type {
	case EdmInt32:
		return int32(v.Int)
	case EdmInt64:
		return v.Int
	case EdmDouble:
		return v.Float
	case EdmBoolean:
		return v.Bool
	case EdmDateTime:
		return v.Time
	case EdmBinary:
		return v.Bytes
	}
	return v.Str
}

// Equal reports whether two values have the same type and value.
func (v Value) Equal(o Value) bool {
	if v.Type != o.Type {
		return false
	}
	c, ok := compareValues(v, o)
	return ok && c == 0
}

func isNumeric(t EdmType) bool { return t == EdmInt32 || t == EdmInt64 || t == EdmDouble }

// compareValues orders two values. ok is false when they cannot be compared
// (different kinds). Numbers compare across Int32, Int64 and Double: Azure
// is stricter (an Int64 property needs an L literal), Tandem accepts a
// superset so filters that work on Azure work here too.
func compareValues(a, b Value) (int, bool) {
	if isNumeric(a.Type) && isNumeric(b.Type) {
		return compareNumbers(a, b), true
	}
	if a.Type != b.Type {
		return 0, false
	}
	switch a.Type {
	case EdmString:
		return strings.Compare(a.Str, b.Str), true
	case EdmGuid:
		return strings.Compare(strings.ToLower(a.Str), strings.ToLower(b.Str)), true
	case EdmBoolean:
		return compareBools(a.Bool, b.Bool), true
	case EdmDateTime:
		return a.Time.Compare(b.Time), true
	case EdmBinary:
		return bytes.Compare(a.Bytes, b.Bytes), true
	}
	return 0, false
}

func compareNumbers(a, b Value) int {
	if a.Type != EdmDouble && b.Type != EdmDouble {
		return cmp.Compare(a.Int, b.Int)
	}
	return cmp.Compare(asFloat(a), asFloat(b))
}

func asFloat(v Value) float64 {
	if v.Type == EdmDouble {
		return v.Float
	}
	return float64(v.Int)
}

func compareBools(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// encodeBinary is the Azure wire form of Edm.Binary.
func encodeBinary(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// decodeBase64 reads standard base64, with or without padding.
func decodeBase64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
