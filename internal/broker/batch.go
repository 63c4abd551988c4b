package broker

import (
	"strconv"
	"strings"
)

// BatchHeader marks each message of a JetStream atomic batch that Tandem
// publishes (a table's entity group transaction) with "<id> <i>/<n>",
// followed by " new" when the message's key held no live value before
// it (an insert, or a write over a deleted key).
// The server's own Nats-Batch-* headers are stripped when a stream is
// mirrored, so this is what lets a promoted mirror tell a batch whose
// last messages never arrived (internal/replicate drops it at
// promotion; the old primary's rescue brings it back whole).
const BatchHeader = "Tandem-Batch"

// BatchMark is what BatchHeader says of one message.
type BatchMark struct {
	ID   string
	I, N int  // the message is the I-th (from 1) of N
	New  bool // its key held no live value before it
}

// FormatBatch is BatchHeader's value for m.
func FormatBatch(m BatchMark) string {
	v := m.ID + " " + strconv.Itoa(m.I) + "/" + strconv.Itoa(m.N)
	if m.New {
		v += " new"
	}
	return v
}

// ParseBatch reads BatchHeader's value.
func ParseBatch(v string) (BatchMark, bool) {
	id, pos, ok := strings.Cut(v, " ")
	if !ok || id == "" {
		return BatchMark{}, false
	}
	pos, flag, _ := strings.Cut(pos, " ")
	i, n, ok := parsePosition(pos)
	return BatchMark{ID: id, I: i, N: n, New: flag == "new"}, ok
}

func parsePosition(pos string) (i, n int, ok bool) {
	a, b, ok := strings.Cut(pos, "/")
	if !ok {
		return 0, 0, false
	}
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || i < 1 || i > n {
		return 0, 0, false
	}
	return i, n, true
}
