package queue

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// receipt is a pop receipt: which stored message, which generation of
// its delivery, the dequeue count it had and the delivery's ack subject
// ("" when the message was not delivered yet: a put or a rewrite).
type receipt struct {
	seq   uint64
	gen   uint64
	count int64
	reply string
}

const (
	receiptVersion = 1
	maxReceiptLen  = 512 // encoded; an ack subject is well under 300 bytes
)

// errBadReceipt is a pop receipt this service did not issue.
var errBadReceipt = errors.New("popreceipt is not a pop receipt this queue service issued")

// encode returns the receipt as the opaque base64 string clients see.
func (r receipt) encode() string {
	b := make([]byte, 0, 32+len(r.reply))
	b = append(b, receiptVersion)
	b = binary.AppendUvarint(b, r.seq)
	b = binary.AppendUvarint(b, r.gen)
	b = binary.AppendUvarint(b, uint64(max(r.count, 0)))
	b = append(b, r.reply...)
	return base64.StdEncoding.EncodeToString(b)
}

// parseReceipt decodes a pop receipt a client sent back.
func parseReceipt(s string) (receipt, error) {
	if s == "" || len(s) > maxReceiptLen {
		return receipt{}, fmt.Errorf("%w: length %d", errBadReceipt, len(s))
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || b[0] != receiptVersion {
		return receipt{}, errBadReceipt
	}
	b = b[1:]
	var r receipt
	var count uint64
	for _, dst := range []*uint64{&r.seq, &r.gen, &count} {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return receipt{}, errBadReceipt
		}
		*dst, b = v, b[n:]
	}
	if r.seq == 0 || count > 1<<40 {
		return receipt{}, errBadReceipt
	}
	r.count, r.reply = int64(count), string(b)
	if r.reply != "" && !validAckSubject(r.reply, r.seq) {
		return receipt{}, fmt.Errorf("%w: not an acknowledgement subject", errBadReceipt)
	}
	return r, nil
}

// validAckSubject checks that s is a JetStream ack subject of the queue
// consumer for stream sequence seq, so a crafted receipt cannot make the
// service publish elsewhere. Both forms are accepted:
//
//	$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>
//	$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>.<token>
func validAckSubject(s string, seq uint64) bool {
	if strings.ContainsAny(s, " \t\r\n*>") {
		return false
	}
	t := strings.Split(s, ".")
	if len(t) < 2 || t[0] != "$JS" || t[1] != "ACK" {
		return false
	}
	var consumer, sseq string
	switch len(t) {
	case 9:
		consumer, sseq = t[3], t[5]
	case 12:
		consumer, sseq = t[5], t[7]
	default:
		return false
	}
	for _, tok := range t {
		if tok == "" {
			return false
		}
	}
	return consumer == consumerName && sseq == strconv.FormatUint(seq, 10)
}

// ackStream is the stream an ack subject names ("" if none).
func ackStream(s string) string {
	t := strings.Split(s, ".")
	switch len(t) {
	case 9:
		return t[2]
	case 12:
		return t[4]
	}
	return ""
}
