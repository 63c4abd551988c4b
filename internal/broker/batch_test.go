package broker

import "testing"

func TestBatchMarkRoundTrip(t *testing.T) {
	for _, m := range []BatchMark{{ID: "abc", I: 1, N: 3, New: true}, {ID: "x", I: 3, N: 3}} {
		got, ok := ParseBatch(FormatBatch(m))
		if !ok || got != m {
			t.Fatalf("%+v read back as %+v %v", m, got, ok)
		}
	}
	for _, bad := range []string{"", "abc", "abc 4/3", "abc 0/3", "abc x/3", " 1/2", "abc 1-2"} {
		if _, ok := ParseBatch(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}
