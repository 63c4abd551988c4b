package table

import (
	"strings"
)

// MaxSelect is the most property names a $select may list: an entity has
// at most 255 properties in Azure (252 of its own, PartitionKey, RowKey and
// Timestamp), so a longer list can only repeat names or waste work.
const MaxSelect = 255

// selection is a $select list without repeats, with a set for lookups, so
// projecting and encoding an entity costs time linear in the list.
type selection struct {
	names []string            // as listed, first occurrence of each
	props []string            // names other than the system properties
	set   map[string]struct{} // names
}

// newSelection dedupes names (nil means every property) and refuses more
// than MaxSelect distinct names.
func newSelection(names []string) (*selection, error) {
	if names == nil {
		return nil, nil
	}
	s := &selection{set: make(map[string]struct{}, min(len(names), MaxSelect))}
	for _, name := range names {
		if _, dup := s.set[name]; dup {
			continue
		}
		if len(s.names) == MaxSelect {
			return nil, invalid("InvalidInput", "$select lists more than %d distinct properties (an entity has at most %d)", MaxSelect, MaxSelect)
		}
		s.set[name] = struct{}{}
		s.names = append(s.names, name)
		if !isSystemProperty(name) {
			s.props = append(s.props, name)
		}
	}
	return s, nil
}

func (s *selection) has(name string) bool {
	if s == nil {
		return true
	}
	_, ok := s.set[name]
	return ok
}

// selectList splits $select ("A,B,C"), dropping repeated names; empty or
// "*" means all properties. More than MaxSelect distinct names is an error.
// It stops reading at the first name past the limit, so a huge list costs
// no more than a long one.
func selectList(raw string) ([]string, error) {
	if raw = strings.TrimSpace(raw); raw == "" || raw == "*" {
		return nil, nil
	}
	seen := map[string]bool{}
	var out []string
	for name := range strings.SplitSeq(raw, ",") {
		if name = strings.TrimSpace(name); name == "" || seen[name] {
			continue
		}
		if len(out) == MaxSelect {
			return nil, invalid("InvalidInput", "$select lists more than %d distinct properties (an entity has at most %d)", MaxSelect, MaxSelect)
		}
		seen[name] = true
		out = append(out, name)
	}
	return out, nil
}
