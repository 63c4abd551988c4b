package queue

import (
	"strings"
	"testing"
)

func TestValidQueueName(t *testing.T) {
	tests := []struct {
		name, wantErr string
	}{
		{"abc", ""},
		{"orders-2024", ""},
		{"a1-b2-c3", ""},
		{strings.Repeat("a", 63), ""},
		{"ab", "3-63 characters"},
		{strings.Repeat("a", 64), "3-63 characters"},
		{"Orders", "lowercase"},
		{"ord_ers", "lowercase"},
		{"ord.ers", "lowercase"},
		{"-orders", "start and end"},
		{"orders-", "start and end"},
		{"ord--ers", "consecutive"},
	}
	for _, tt := range tests {
		err := ValidQueueName(tt.name)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: unexpected error %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: error %v, want one mentioning %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestPoisonQueue(t *testing.T) {
	tests := []struct{ queue, want string }{
		{"orders", "orders-poison"},
		{"orders-poison", ""}, // a poison queue has no poison queue
		{strings.Repeat("a", 56), strings.Repeat("a", 56) + "-poison"},
		{strings.Repeat("a", 57), ""}, // "-poison" would pass 63 characters
	}
	for _, tt := range tests {
		if got := PoisonQueue(tt.queue); got != tt.want {
			t.Errorf("PoisonQueue(%q) = %q, want %q", tt.queue, got, tt.want)
		}
	}
}

func TestValidApp(t *testing.T) {
	for _, ok := range []string{"app", "My-App2"} {
		if err := validApp(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a.b", "a_b", "a b", "a*", strings.Repeat("x", 65)} {
		if validApp(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
