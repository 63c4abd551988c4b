package broker

import (
	"strconv"
	"strings"
)

// BatchHeader marks each message of a JetStream atomic batch that Tandem
// publishes (a table's entity group transaction) with "<id> <i>/<n>".
// The server's own Nats-Batch-* headers are stripped when a stream is
// mirrored, so this is what lets a promoted mirror tell a batch whose
// last messages never arrived (internal/replicate drops it at
// promotion; the old primary's rescue brings it back whole).
const BatchHeader = "Tandem-Batch"

// FormatBatch is BatchHeader's value for message i (from 1) of n.
func FormatBatch(id string, i, n int) string {
	return id + " " + strconv.Itoa(i) + "/" + strconv.Itoa(n)
}

// ParseBatch reads BatchHeader's value.
func ParseBatch(v string) (id string, i, n int, ok bool) {
	id, pos, ok := strings.Cut(v, " ")
	if !ok || id == "" {
		return "", 0, 0, false
	}
	a, b, ok := strings.Cut(pos, "/")
	if !ok {
		return "", 0, 0, false
	}
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || i < 1 || i > n {
		return "", 0, 0, false
	}
	return id, i, n, true
}
