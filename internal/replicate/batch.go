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
// broker.BatchHeader ("<id> <i>/<n>"), which mirrors keep. Promoting that as it is would make half a
// transaction visible in the new primary. So Promote deletes such a
// trailing incomplete batch and records the promoted last sequence as
// the one before it: the whole batch then belongs to the old primary's
// tail, which RescueTail brings over at failback like any unreplicated
// write.

// maxBatchMsgs is the server's default ceiling on one atomic batch.
const maxBatchMsgs = 1000

// trimIncompleteBatch deletes a trailing batch without its commit from
// stream name and returns the last sequence before it (last when there
// is none) and how many messages it deleted.
func trimIncompleteBatch(ctx context.Context, js jetstream.JetStream, name string, last uint64) (uint64, int, error) {
	st, err := js.Stream(ctx, name)
	if err != nil {
		return last, 0, fmt.Errorf("trim batch in %s: %w", name, err)
	}
	msg, err := lastStored(ctx, st, last)
	if err != nil {
		return last, 0, fmt.Errorf("trim batch in %s: %w", name, err)
	}
	if msg == nil {
		return last, 0, nil
	}
	id, i, n, ok := broker.ParseBatch(msg.Header.Get(broker.BatchHeader))
	if !ok || i == n {
		return last, 0, nil // not a batch, or a whole one
	}
	return deleteBatchHead(ctx, st, name, msg, id)
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

// deleteBatchHead deletes msg and the messages of its batch before it,
// back to the batch's first.
func deleteBatchHead(ctx context.Context, st jetstream.Stream, name string, msg *jetstream.RawStreamMsg, id string) (uint64, int, error) {
	seq, dropped := msg.Sequence, 0
	for range maxBatchMsgs {
		_, pos, _, _ := broker.ParseBatch(msg.Header.Get(broker.BatchHeader))
		if err := st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return seq, dropped, fmt.Errorf("trim batch %s in %s: delete %d: %w", id, name, seq, err)
		}
		dropped++
		if pos <= 1 || seq <= 1 {
			return seq - 1, dropped, nil
		}
		seq--
		next, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return seq, dropped, nil
		}
		if err != nil {
			return seq, dropped, fmt.Errorf("trim batch %s in %s: %w", id, name, err)
		}
		if nid, _, _, _ := broker.ParseBatch(next.Header.Get(broker.BatchHeader)); nid != id {
			return seq, dropped, nil
		}
		msg = next
	}
	return seq, dropped, nil
}
