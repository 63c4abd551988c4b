package blobtrigger

import (
	"reflect"
	"strings"
	"testing"
)

// Golden cases from the blob extension's behaviour: BlobPathSource.Create,
// BindingTemplateSource's "^...(?<name>.*)...$" regex (greedy, left to
// right, no newline in a capture), FixedBlobPathSource for paths without
// captures.
func TestPatternMatch(t *testing.T) {
	cases := []struct {
		pattern, container, blob string
		want                     map[string]string // nil: no match
	}{
		{"samples/{name}", "samples", "a.txt", map[string]string{"name": "a.txt"}},
		{"samples/{name}", "samples", "dir/a.txt", map[string]string{"name": "dir/a.txt"}},
		{"samples/{name}", "other", "a.txt", nil},
		{"samples/{name}.{ext}", "samples", "a.b.c", map[string]string{"name": "a.b", "ext": "c"}},
		{"samples/{name}.{ext}", "samples", "noext", nil},
		{"samples/prefix-{id}/{name}", "samples", "prefix-42/x.json", map[string]string{"id": "42", "name": "x.json"}},
		{"samples/prefix-{id}/{name}", "samples", "prefix-1/2/3", map[string]string{"id": "1/2", "name": "3"}},
		{"samples/prefix-{id}/{name}", "samples", "other-1/x", nil},
		{"samples/{name}", "samples", "", map[string]string{"name": ""}},
		{"samples/original-{name}", "samples", "original-x", map[string]string{"name": "x"}},
		{"samples/original-{name}", "samples", "Original-x", nil}, // case sensitive
		{"samples/{{literal}}-{name}", "samples", "{literal}-x", map[string]string{"name": "x"}},
		{"samples/{{literal}}-{name}", "samples", "literal-x", nil},
		{"samples/{name}", "samples", "line\nbreak", nil}, // '.' stops at a newline
		{"samples/{name}", "samples", "trailing\n", map[string]string{"name": "trailing"}},
		{"samples/{a}-{A}", "samples", "x-y", map[string]string{"a": "y"}}, // one key, the last capture
		{"samples/{name:yyyy}", "samples", "x", map[string]string{"name": "x"}},
		{"samples/fixed.txt", "samples", "fixed.txt", map[string]string{}},
		{"samples/fixed.txt", "samples", "fixed.txt2", nil},
		{"samples/a{{b", "samples", "a{{b", map[string]string{}}, // a fixed path keeps the text as written
		{"samples", "samples", "anything/at/all", map[string]string{}},
		{"samples", "samples2", "x", nil},
		{"samples/a.b*c", "samples", "a.b*c", map[string]string{}},
		{"samples/(x)+{n}", "samples", "(x)+1", map[string]string{"n": "1"}},
	}
	for _, c := range cases {
		p, err := ParsePattern(c.pattern)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		got, ok := p.Match(c.container, c.blob)
		if c.want == nil {
			if ok {
				t.Errorf("%q on %s/%q: matched %v, want no match", c.pattern, c.container, c.blob, got)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q on %s/%q: %v %v, want %v", c.pattern, c.container, c.blob, got, ok, c.want)
		}
	}
}

func TestPatternErrors(t *testing.T) {
	cases := []struct{ pattern, want string }{
		{"/name", "format 'container/blob'"},
		{"samples/", "format 'container/blob'"},
		{"sam\\ples/x", "format 'container/blob'"},
		{"sam{x}/y", "cannot contain {resolve} tokens"},
		{"samples/{}", "parameter name is empty"},
		{"samples/{name", "missing closing bracket"},
		{"samples/name}", "missing opening bracket"},
		{"samples/{a{b}", "missing closing bracket"},
		{"samples/{a.b}", "dot operators"},
		{"samples/{rand-guid}", "is invalid"},
		{"samples/{1x}", "invalid template expression"},
		{"Samples/{x}", "invalid container name"},
		{"ab/{x}", "invalid container name"},
	}
	for _, c := range cases {
		_, err := ParsePattern(c.pattern)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.pattern, err, c.want)
		}
	}
}

func TestPatternNames(t *testing.T) {
	p, err := ParsePattern("c12/{a}/{b}.{c}")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Names(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("names %v", got)
	}
}

// FuzzParsePattern: the parser never panics, and a pattern it accepts
// matches the path it would build from its own literal parts.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"samples/{name}", "c12/{a}.{b}", "c12/{{x}}/{y}", "c12", "c12/{", "c12/}", "c12/{a:b}", "c12/\n{x}"} {
		f.Add(s, "x.y")
	}
	f.Fuzz(func(t *testing.T, pattern, blob string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			return
		}
		vals, ok := p.Match(p.Container, blob)
		if ok && len(vals) > len(p.Names()) {
			t.Fatalf("%q: %d values for %d names", pattern, len(vals), len(p.Names()))
		}
		if p.re == nil && p.Blob != "" {
			if _, ok := p.Match(p.Container, p.Blob); !ok {
				t.Fatalf("fixed path %q does not match itself", pattern)
			}
		}
	})
}
