package region

import "testing"

func TestSyncStandbys(t *testing.T) {
	for _, c := range []struct {
		v     string
		peers int
		want  int
		bad   bool
	}{
		{"", 1, 1, false}, {"quorum", 1, 1, false}, {"quorum", 2, 1, false}, {"quorum", 3, 2, false}, {"quorum", 4, 2, false},
		{"one", 3, 1, false}, {"all", 3, 3, false}, {"2", 3, 2, false},
		{"0", 3, 0, true}, {"4", 3, 0, true}, {"most", 2, 0, true},
	} {
		got, err := SyncStandbys(c.v, c.peers)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("SyncStandbys(%q, %d) = %d, %v; want %d (error %v)", c.v, c.peers, got, err, c.want, c.bad)
		}
	}
}
