package replicate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// maxRanges bounds a decoded record: a record with more ranges than this
// was not written by Progress (which compacts long before).
const maxRanges = 100_000

// record is one queue's processing progress: every sequence up to Floor is
// done (acknowledged, purged or expired), and so is every sequence inside
// one of the Acked ranges above it. Ranges are sorted, disjoint, not
// adjacent, and above Floor+1 (a range starting at Floor+1 is folded into
// the floor), so a record stays small however many messages are acked.
type record struct {
	Floor uint64      `json:"floor"`
	Acked [][2]uint64 `json:"acked,omitempty"`
}

// add marks seq done.
func (r *record) add(seq uint64) {
	if seq <= r.Floor {
		return
	}
	r.Acked = append(r.Acked, [2]uint64{seq, seq})
	r.normalize()
}

// raiseFloor marks everything up to floor done.
func (r *record) raiseFloor(floor uint64) {
	if floor > r.Floor {
		r.Floor = floor
		r.normalize()
	}
}

// merge folds o into r (both describe done work, so the union is right).
func (r *record) merge(o record) {
	r.Floor = max(r.Floor, o.Floor)
	r.Acked = append(r.Acked, o.Acked...)
	r.normalize()
}

// clamp forgets everything above last: used at promotion, where sequences
// above the mirror's last one will name new messages.
func (r *record) clamp(last uint64) {
	r.Floor = min(r.Floor, last)
	out := r.Acked[:0]
	for _, a := range r.Acked {
		if a[0] <= last {
			out = append(out, [2]uint64{a[0], min(a[1], last)})
		}
	}
	r.Acked = out
	r.normalize()
}

// done reports whether seq is recorded as done.
func (r *record) done(seq uint64) bool {
	if seq <= r.Floor {
		return true
	}
	_, found := slices.BinarySearchFunc(r.Acked, seq, func(a [2]uint64, s uint64) int {
		switch {
		case a[1] < s:
			return -1
		case a[0] > s:
			return 1
		}
		return 0
	})
	return found
}

// count is how many sequences above the floor are recorded done.
func (r *record) count() uint64 {
	var n uint64
	for _, a := range r.Acked {
		n += a[1] - a[0] + 1
	}
	return n
}

// normalize sorts and coalesces ranges, drops what the floor covers and
// raises the floor through a range that touches it.
func (r *record) normalize() {
	slices.SortFunc(r.Acked, func(a, b [2]uint64) int {
		switch {
		case a[0] < b[0]:
			return -1
		case a[0] > b[0]:
			return 1
		}
		return 0
	})
	out := r.Acked[:0]
	for _, a := range r.Acked {
		if a[1] <= r.Floor {
			continue
		}
		a[0] = max(a[0], r.Floor+1)
		if a[0] == r.Floor+1 {
			r.Floor = a[1]
			continue
		}
		if n := len(out); n > 0 && a[0] <= out[n-1][1]+1 {
			out[n-1][1] = max(out[n-1][1], a[1])
			continue
		}
		out = append(out, a)
	}
	r.Acked = out
	r.foldFloor()
}

// foldFloor raises the floor through leading ranges made contiguous by an
// earlier floor raise.
func (r *record) foldFloor() {
	for len(r.Acked) > 0 && r.Acked[0][0] <= r.Floor+1 {
		r.Floor = max(r.Floor, r.Acked[0][1])
		r.Acked = r.Acked[1:]
	}
}

// encodeRecord is the stored form of r.
func encodeRecord(r record) []byte {
	b, _ := json.Marshal(r) // a struct of integers always marshals
	return b
}

// decodeRecord parses a stored record, checking its invariants so that a
// corrupt record cannot make Promote drop messages it should keep.
func decodeRecord(data []byte) (record, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return record{}, fmt.Errorf("progress record: %w", err)
	}
	if len(r.Acked) > maxRanges {
		return record{}, fmt.Errorf("progress record: %d ranges, at most %d", len(r.Acked), maxRanges)
	}
	prev := r.Floor
	for i, a := range r.Acked {
		if a[0] > a[1] || prev == math.MaxUint64 || a[0] <= prev+1 {
			return record{}, fmt.Errorf("progress record: range %d [%d,%d] after %d: %w", i, a[0], a[1], prev, errRangeOrder)
		}
		prev = a[1]
	}
	return r, nil
}

var errRangeOrder = errors.New("ranges must be sorted, apart and above floor+1")
