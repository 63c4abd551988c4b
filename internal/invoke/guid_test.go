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
