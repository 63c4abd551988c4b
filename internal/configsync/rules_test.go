package configsync

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// line renders a change as "kind class [fn/]name" for comparisons.
func line(c Change) string {
	name := c.Name
	if c.Function != "" {
		name = c.Function + "/" + name
	}
	return fmt.Sprintf("%s %s %s", c.Kind, c.Class, name)
}

func lines(cs []Change) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, line(c))
	}
	return out
}

func TestDiffRules(t *testing.T) {
	replica := func(c Class, fn, name string) []Ref { return []Ref{{Class: c, Function: fn, Name: name}} }
	long := strings.Repeat("k", 254)
	cases := []struct {
		name      string
		src, dst  AppConfig
		exclude   []string
		want      []string
		unchanged int
	}{
		{name: "add setting", src: AppConfig{Values: map[string]string{"A": "1"}},
			want: []string{"add setting A"}},
		{name: "modify setting", src: AppConfig{Values: map[string]string{"A": "1"}}, dst: AppConfig{Values: map[string]string{"A": "0"}},
			want: []string{"modify setting A"}},
		{name: "unchanged setting", src: AppConfig{Values: map[string]string{"A": "1"}}, dst: AppConfig{Values: map[string]string{"A": "1"}},
			unchanged: 1},
		{name: "deleted in primary is an orphan, never deleted", dst: AppConfig{Values: map[string]string{"GONE": "x"}},
			want: []string{"orphan setting GONE"}},
		{name: "orphan beside a copied setting", src: AppConfig{Values: map[string]string{"A": "1"}}, dst: AppConfig{Values: map[string]string{"A": "1", "LOCAL": "x"}},
			want: []string{"orphan setting LOCAL"}, unchanged: 1},
		{name: "excluded pattern: reported, never copied, never an orphan",
			src:     AppConfig{Values: map[string]string{"WEBSITE_SITE_NAME": "east", "REGION_ONLY": "e"}},
			dst:     AppConfig{Values: map[string]string{"WEBSITE_SITE_NAME": "west", "WEBSITE_HOSTNAME": "w"}},
			exclude: []string{"WEBSITE_*", "REGION_*"},
			want:    []string{"excluded setting REGION_ONLY", "excluded setting WEBSITE_SITE_NAME"}},
		{name: "default exclusion is WEBSITE_*", src: AppConfig{Values: map[string]string{"WEBSITE_TIME": "x", "AzureWebJobs.f.Disabled": "true"}},
			want: []string{"add setting AzureWebJobs.f.Disabled", "excluded setting WEBSITE_TIME"}},
		{name: "connection strings follow the setting rules",
			src:  AppConfig{ConnectionStrings: map[string]string{"Db": "new", "Cache": "c"}},
			dst:  AppConfig{ConnectionStrings: map[string]string{"Db": "old", "Local": "l"}},
			want: []string{"add connectionstring Cache", "modify connectionstring Db", "orphan connectionstring Local"}},
		{name: "host key added as HA-", src: AppConfig{HostKeys: map[string]string{"default": "p"}}, dst: AppConfig{HostKeys: map[string]string{"default": "s"}},
			want: []string{"add hostkey HA-default"}},
		{name: "replica modified when the value differs", src: AppConfig{HostKeys: map[string]string{"default": "p2"}},
			dst:  AppConfig{HostKeys: map[string]string{"HA-default": "p1"}, Replicas: replica(ClassHostKey, "", "HA-default")},
			want: []string{"modify hostkey HA-default"}},
		{name: "replica unchanged", src: AppConfig{SystemKeys: map[string]string{"ext": "v"}},
			dst: AppConfig{SystemKeys: map[string]string{"HA-ext": "v"}, Replicas: replica(ClassSystemKey, "", "HA-ext")}, unchanged: 1},
		{name: "HA- name colliding with the secondary's own key: skipped",
			src:  AppConfig{HostKeys: map[string]string{"default": "p"}},
			dst:  AppConfig{HostKeys: map[string]string{"HA-default": "mine"}},
			want: []string{"collision hostkey HA-default"}},
		{name: "collision even when the values are equal", src: AppConfig{HostKeys: map[string]string{"default": "same"}},
			dst: AppConfig{HostKeys: map[string]string{"HA-default": "same"}}, want: []string{"collision hostkey HA-default"}},
		{name: "key deleted in primary: reported, kept",
			dst:  AppConfig{FunctionKeys: map[string]map[string]string{"hello": {"HA-old": "v", "own": "o"}}, Replicas: replica(ClassFunctionKey, "hello", "HA-old")},
			want: []string{"source-deleted functionkey hello/HA-old"}},
		{name: "secondary's own keys are not reported", dst: AppConfig{HostKeys: map[string]string{"default": "s", "HA-mine": "m"}}},
		{name: "function keys per function", src: AppConfig{FunctionKeys: map[string]map[string]string{"a": {"default": "1"}, "b": {"k": "2"}}},
			want: []string{"add functionkey a/HA-default", "add functionkey b/HA-k"}},
		{name: "the primary's replicas are not copied on",
			src:  AppConfig{HostKeys: map[string]string{"default": "p", "HA-default": "old"}, Replicas: replica(ClassHostKey, "", "HA-default")},
			want: []string{"add hostkey HA-default"}},
		{name: "the primary's own HA- key is copied as HA-HA-", src: AppConfig{HostKeys: map[string]string{"HA-x": "p"}},
			want: []string{"add hostkey HA-HA-x"}},
		{name: "name too long for a key", src: AppConfig{HostKeys: map[string]string{long: "v"}},
			want: []string{"skipped hostkey HA-" + long}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := NewExclude(tc.exclude)
			if err != nil {
				t.Fatal(err)
			}
			got, same := Diff("app", &tc.src, &tc.dst, ex)
			if !slices.Equal(lines(got), tc.want) {
				t.Fatalf("changes:\n got %q\nwant %q", lines(got), tc.want)
			}
			if same != tc.unchanged {
				t.Fatalf("unchanged = %d, want %d", same, tc.unchanged)
			}
			for _, c := range got {
				if c.Kind.Applies() != (c.value != "") {
					t.Fatalf("%s: value carried = %v, want only for add and modify", line(c), c.value != "")
				}
			}
		})
	}
}

func TestDiffCarriesThePrimaryValue(t *testing.T) {
	got, _ := Diff("app", &AppConfig{HostKeys: map[string]string{"default": "primary-value"}, Values: map[string]string{"A": "1"}}, nil, Exclude{})
	want := map[string]string{"HA-default": "primary-value", "A": "1"}
	for _, c := range got {
		if c.value != want[c.Name] {
			t.Fatalf("%s carries %q, want %q", line(c), c.value, want[c.Name])
		}
	}
}

func TestExcludeRejectsBadGlobs(t *testing.T) {
	for _, p := range [][]string{{"["}, {"A", ""}, {"a[b"}} {
		if _, err := NewExclude(p); err == nil {
			t.Errorf("NewExclude(%q): no error", p)
		}
	}
	ex, err := NewExclude([]string{"AzureWebJobs.*.Disabled"})
	if err != nil {
		t.Fatal(err)
	}
	if !ex.Match("AzureWebJobs.hello.Disabled") || ex.Match("WEBSITE_X") {
		t.Fatal("configured patterns replace the default")
	}
}
