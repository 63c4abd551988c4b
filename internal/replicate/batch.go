package replicate

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// Atomic batches in mirrors. The primary stores a JetStream atomic batch
// (a table's entity group transaction) all at once, but a mirror copies
// it message by message and strips the server's Nats-Batch-* headers: a
// primary lost between the two leaves a mirror holding the head of a
// batch without its last message. Tandem marks every batch message with
// broker.BatchHeader ("<id> <i>/<n>", "new" when its key held no live
// value), which mirrors keep.
//
// At promotion such a head is deleted when every message of it created
// its key: the keys then read as before the batch, and the promoted last
// sequence is recorded as the one before it, so the whole batch belongs
// to the old primary's tail, which RescueTail brings over at failback.
// A head that overwrote a live value is kept: a bucket holds one value
// per key, so the value before it is gone from the mirror and deleting
// the head would lose data; the head is promoted as single writes are,
// and the rescue brings the rest of the batch.

// maxBatchMsgs is the server's default ceiling on one atomic batch.
const maxBatchMsgs = 1000

// trimIncompleteBatch deletes a trailing incomplete batch from stream
// name when that loses nothing, and returns the last sequence before it
// (last when nothing was deleted), how many messages it deleted and
// how many it kept because they overwrote live values.
func trimIncompleteBatch(ctx context.Context, js jetstream.JetStream, name string, last uint64) (uint64, int, int, error) {
	st, err := js.Stream(ctx, name)
	if err != nil {
		return last, 0, 0, fmt.Errorf("trim batch in %s: %w", name, err)
	}
	msg, err := lastStored(ctx, st, last)
	if err != nil || msg == nil {
		return last, 0, 0, wrapTrim(name, err)
	}
	mark, ok := broker.ParseBatch(msg.Header.Get(broker.BatchHeader))
	if !ok || mark.I == mark.N {
		return last, 0, 0, nil // not a batch, or a whole one
	}
	head, allNew, err := batchHead(ctx, st, msg, mark)
	if err != nil || !allNew {
		return last, 0, len(head), wrapTrim(name, err)
	}
	for _, seq := range head {
		if err := st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return last, 0, 0, wrapTrim(name, err)
		}
	}
	return head[len(head)-1] - 1, len(head), 0, nil
}

func wrapTrim(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("trim batch in %s: %w", name, err)
}

// lastStored is the stream's last message still stored at or below
// last (the ones after it may be deleted), nil if none is near.
func lastStored(ctx context.Context, st jetstream.Stream, last uint64) (*jetstream.RawStreamMsg, error) {
	for seq := last; seq > 0 && last-seq <= maxBatchMsgs; seq-- {
		msg, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		return msg, err
	}
	return nil, nil
}

// batchHead lists the sequences of msg's batch, from msg back to the
// batch's first message, and whether every one of them was "new".
func batchHead(ctx context.Context, st jetstream.Stream, msg *jetstream.RawStreamMsg, mark broker.BatchMark) ([]uint64, bool, error) {
	seqs, allNew := []uint64{msg.Sequence}, mark.New
	for seq := msg.Sequence - 1; seq > 0 && mark.I > 1 && len(seqs) < maxBatchMsgs; seq-- {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // overwritten later in the same batch cannot be: keys are unique
		}
		if err != nil {
			return seqs, false, err
		}
		prev, ok := broker.ParseBatch(m.Header.Get(broker.BatchHeader))
		if !ok || prev.ID != mark.ID {
			break
		}
		seqs, allNew, mark = append(seqs, seq), allNew && prev.New, prev
	}
	return seqs, allNew, nil
}
