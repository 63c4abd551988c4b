package table

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func lookupIn(values map[string]string) func(string) (string, error) {
	return func(name string) (string, error) {
		for k, v := range values {
			if strings.EqualFold(k, name) {
				return v, nil
			}
		}
		return "", fmt.Errorf("no value %s", name)
	}
}

func TestBindFilter(t *testing.T) {
	hostile := "x' or PartitionKey ne 'x"
	cases := []struct {
		template string
		values   map[string]string
		want     string
		wantErr  error
	}{
		{"PartitionKey eq '{pk}'", map[string]string{"pk": hostile}, "PartitionKey eq 'x'' or PartitionKey ne ''x'", nil},
		{"PartitionKey eq '{PK}' or RowKey eq '{pk}'", map[string]string{"pk": "O'Brien"}, "PartitionKey eq 'O''Brien' or RowKey eq 'O''Brien'", nil},
		{"Age gt {age}", map[string]string{"age": "25"}, "Age gt 25", nil},
		{"Price lt {p} and Active eq {b}", map[string]string{"p": "-1.5e3", "b": "true"}, "Price lt -1.5e3 and Active eq true", nil},
		{"Age gt {age}", map[string]string{"age": "25 or true"}, "", ErrFilterValue},
		{"{age} lt Age", map[string]string{"age": "25 or true"}, "", ErrFilterValue},
		{"Name eq '{n}' or Age gt {n}", map[string]string{"n": "1 or true"}, "", ErrFilterValue}, // one unquoted use: all must be literal
		{"Age gt {age}", map[string]string{"age": "NaN"}, "", ErrFilterValue},
		{"Age gt {age}", map[string]string{"age": "1,000"}, "", ErrFilterValue},
		{"{whole}", map[string]string{"whole": "A eq 1 or B eq 2"}, "A eq 1 or B eq 2", nil}, // Azure: a whole-filter expression goes through as is
		{"A eq 1", nil, "A eq 1", nil},
		{"", nil, "", nil},
	}
	for _, c := range cases {
		t.Run(c.template, func(t *testing.T) {
			got, err := BindFilter(c.template, lookupIn(c.values))
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("BindFilter = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := BindFilter("A eq '{a", lookupIn(nil)); err == nil {
		t.Fatal("an unclosed expression was accepted")
	}
}

// FuzzBindFilter: whatever value a caller supplies, a quoted parameter
// stays one string literal: the bound filter pins PartitionKey to exactly
// that value, and an unquoted one is a number or a boolean or refused.
func FuzzBindFilter(f *testing.F) {
	for _, s := range []string{"x", "x' or PartitionKey ne 'x", "''", "'", "a' or 1 eq 1 or 'a", "{", "}"} {
		f.Add(s, "1")
		f.Add(s, "1 or true")
	}
	f.Fuzz(func(t *testing.T, pk, n string) {
		filter, err := BindFilter("PartitionKey eq '{pk}' and Age gt {n}", lookupIn(map[string]string{"pk": pk, "n": n}))
		if err != nil {
			if !errors.Is(err, ErrFilterValue) {
				t.Fatalf("bind %q, %q: %v", pk, n, err)
			}
			return
		}
		flt, err := ParseFilter(filter)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("parse %q: %v", filter, err)
			}
			return
		}
		if got, ok := flt.pinned("PartitionKey"); !ok || got != pk {
			t.Fatalf("bound filter %q pins PartitionKey to %q (%v), want %q", filter, got, ok, pk)
		}
	})
}
