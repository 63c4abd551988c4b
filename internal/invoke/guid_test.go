package invoke

import (
	"regexp"
	"testing"
)

var guidForm = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewGUIDIsVersion4(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewGUID()
		if !guidForm.MatchString(id) {
			t.Fatalf("%q is not a version 4 GUID in text form", id)
		}
		if seen[id] {
			t.Fatalf("%q drawn twice", id)
		}
		seen[id] = true
	}
}

func TestFormatGUID(t *testing.T) {
	b := [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0x4d, 0xef, 0x80, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0xff}
	if got, want := formatGUID(&b), "01234567-89ab-4def-8011-2233445566ff"; got != want {
		t.Fatalf("formatGUID = %q, want %q", got, want)
	}
}
