package table

import (
	"maps"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
)

// Entity is one row of a table: the two keys, the system properties set by
// the service (Timestamp, ETag) and up to 252 typed properties.
type Entity struct {
	PartitionKey string
	RowKey       string
	Timestamp    time.Time
	ETag         string
	Properties   map[string]Value
}

// Azure Table storage limits (learn.microsoft.com, "Understanding the Table
// service data model").
const (
	maxKeyChars      = 1024
	maxProperties    = 252
	maxPropNameChars = 255
	maxValueBytes    = 64 * 1024
	maxEntityBytes   = 1024 * 1024
)

var minDateTime = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// Lookup returns a property by name, including the system properties
// PartitionKey, RowKey and Timestamp (as filters see them).
func (e Entity) Lookup(name string) (Value, bool) {
	switch name {
	case "PartitionKey":
		return String(e.PartitionKey), true
	case "RowKey":
		return String(e.RowKey), true
	case "Timestamp":
		return DateTime(e.Timestamp), !e.Timestamp.IsZero()
	}
	v, ok := e.Properties[name]
	return v, ok
}

// clone returns a copy whose property map can be changed independently.
func (e Entity) clone() Entity {
	e.Properties = maps.Clone(e.Properties)
	if e.Properties == nil {
		e.Properties = map[string]Value{}
	}
	return e
}

// Validate checks keys, property names, counts and value sizes against
// Azure's rules, naming the offending key or property.
func (e Entity) Validate() error {
	if err := validateKey("PartitionKey", e.PartitionKey); err != nil {
		return err
	}
	if err := validateKey("RowKey", e.RowKey); err != nil {
		return err
	}
	if len(e.Properties) > maxProperties {
		return invalid("TooManyProperties", "entity has %d properties; at most %d are allowed", len(e.Properties), maxProperties)
	}
	for name, v := range e.Properties {
		if err := validateProperty(name, v); err != nil {
			return err
		}
	}
	return nil
}

// validateKey enforces the PartitionKey/RowKey rules: at most 1024
// characters, none of / \ # ? and no control characters.
func validateKey(which, k string) error {
	if len(utf16.Encode([]rune(k))) > maxKeyChars {
		return invalid("OutOfRangeInput", "%s is longer than %d characters", which, maxKeyChars)
	}
	if i := strings.IndexFunc(k, badKeyRune); i >= 0 {
		return invalid("OutOfRangeInput", "%s %q contains a character not allowed in keys at byte %d (no / \\ # ? or control characters)", which, k, i)
	}
	return nil
}

func badKeyRune(r rune) bool {
	switch {
	case r == '/', r == '\\', r == '#', r == '?':
		return true
	case r <= 0x1f, r >= 0x7f && r <= 0x9f:
		return true
	}
	return false
}

// ValidPropertyName reports whether name is a C#-identifier-like property
// name of at most 255 characters and not a system property.
func ValidPropertyName(name string) bool {
	if name == "" || len([]rune(name)) > maxPropNameChars || isSystemProperty(name) {
		return false
	}
	for i, r := range name {
		letter := unicode.IsLetter(r) || r == '_'
		if !letter && (i == 0 || !unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

func isSystemProperty(name string) bool {
	return name == "PartitionKey" || name == "RowKey" || name == "Timestamp"
}

func validateProperty(name string, v Value) error {
	if !ValidPropertyName(name) {
		return invalid("PropertyNameInvalid", "property name %q is invalid: use letters, digits and '_', starting with a letter or '_', at most %d characters", name, maxPropNameChars)
	}
	switch v.Type {
	case EdmString:
		if len(utf16.Encode([]rune(v.Str)))*2 > maxValueBytes {
			return invalid("PropertyValueTooLarge", "property %q: string is larger than 64 KiB", name)
		}
	case EdmBinary:
		if len(v.Bytes) > maxValueBytes {
			return invalid("PropertyValueTooLarge", "property %q: binary is larger than 64 KiB", name)
		}
	case EdmGuid:
		if !ValidGuid(v.Str) {
			return invalid("InvalidInput", "property %q: %q is not a GUID", name, v.Str)
		}
	case EdmDateTime:
		return validateTime(name, v.Time)
	case EdmInt32, EdmInt64, EdmDouble, EdmBoolean:
	default:
		return invalid("InvalidInput", "property %q: unsupported type %q", name, v.Type)
	}
	return nil
}

func validateTime(name string, t time.Time) error {
	if t.Before(minDateTime) || t.Year() > 9999 {
		return invalid("OutOfRangeInput", "property %q: DateTime %s is outside 1601-01-01 .. 9999-12-31 UTC", name, t.Format(time.RFC3339))
	}
	return nil
}

var tableNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{2,62}$`)

// ValidTableName checks Azure's table-name rules: 3-63 characters, letters
// and digits only, starting with a letter, not the reserved name "tables".
func ValidTableName(name string) error {
	if !tableNamePattern.MatchString(name) {
		return invalid("InvalidResourceName", "table name %q is invalid: use 3-63 letters or digits, starting with a letter", name)
	}
	if strings.EqualFold(name, "tables") {
		return invalid("InvalidResourceName", "table name %q is reserved", name)
	}
	return nil
}

var appNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,62}$`)

// validApp checks an app (account) name: letters, digits and '-'.
func validApp(app string) error {
	if !appNamePattern.MatchString(app) {
		return invalid("InvalidResourceName", "app name %q is invalid: use 1-63 letters, digits or '-', starting with a letter or digit", app)
	}
	return nil
}
