package table

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// JetStream atomic batch publish (ADR-50): every message carries the
// batch id and its position; the last one also Nats-Batch-Commit: 1 and
// is the only one answered (with the PubAck of the whole batch, or the
// error that discarded it). Messages of one connection reach the server
// in order, so the earlier ones need no answer.

const (
	hdrBatchID     = "Nats-Batch-Id"
	hdrBatchSeq    = "Nats-Batch-Sequence"
	hdrBatchCommit = "Nats-Batch-Commit"
	hdrExpectSubj  = "Nats-Expected-Last-Subject-Sequence"
)

// JetStream error codes the batch answers with when a key moved.
const (
	errCodeWrongLastSeq         = 10071
	errCodeWrongLastSeqConstant = 10164
)

// batchAck is the commit's answer.
type batchAck struct {
	Error    *jetstream.APIError `json:"error,omitempty"`
	Stream   string              `json:"stream"`
	Sequence uint64              `json:"seq"`
	Count    int                 `json:"count"`
}

// publishBatch stores writes atomically and returns the sequence of the
// first; errBatchConflict if an expected revision did not hold.
func (s *Service) publishBatch(ctx context.Context, writes []batchWrite) (uint64, error) {
	nc := s.opts.Broker.Conn()
	id := batchID()
	for i, w := range writes {
		msg := batchMsg(w, id, i+1, len(writes))
		if i < len(writes)-1 {
			if err := nc.PublishMsg(msg); err != nil {
				return 0, fmt.Errorf("publish batch message %d: %w", i, err)
			}
			continue
		}
		reply, err := nc.RequestMsgWithContext(ctx, msg)
		if err != nil {
			return 0, fmt.Errorf("commit batch: %w", err)
		}
		return parseBatchAck(reply.Data, len(writes))
	}
	return 0, fmt.Errorf("empty batch")
}

func batchMsg(w batchWrite, id string, seq, n int) *nats.Msg {
	msg := nats.NewMsg(w.subject)
	msg.Data = w.data
	msg.Header.Set(hdrBatchID, id)
	msg.Header.Set(hdrBatchSeq, strconv.Itoa(seq))
	msg.Header.Set(hdrExpectSubj, strconv.FormatUint(w.expect, 10))
	if w.data == nil {
		msg.Header.Set(kvOpHeader, "DEL")
	}
	msg.Header.Set(broker.BatchHeader, broker.FormatBatch(broker.BatchMark{ID: id, I: seq, N: n, New: !w.replaces}))
	if seq == n {
		msg.Header.Set(hdrBatchCommit, "1")
	}
	return msg
}

func parseBatchAck(data []byte, n int) (uint64, error) {
	var ack batchAck
	if err := json.Unmarshal(data, &ack); err != nil {
		return 0, fmt.Errorf("commit batch: answer %q: %w", data, err)
	}
	if ack.Error != nil {
		switch ack.Error.ErrorCode {
		case errCodeWrongLastSeq, errCodeWrongLastSeqConstant:
			return 0, errBatchConflict
		}
		return 0, fmt.Errorf("commit batch: %w", ack.Error)
	}
	if ack.Count != n || ack.Sequence < uint64(n) {
		return 0, fmt.Errorf("commit batch: stored %d messages up to sequence %d, want %d", ack.Count, ack.Sequence, n)
	}
	return ack.Sequence - uint64(n) + 1, nil
}

// batchID is a random batch id (at most 64 characters).
func batchID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
