package replicate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// An object store bucket's tail (internal/blob containers) is rescued per
// object name, like a KV bucket's per key: the last meta message of each
// name in the tail is applied to the new primary's bucket unless the new
// primary wrote that name since the promotion (its object is kept: a
// conflict), after the chunks the tail holds for it. The meta names the
// target bucket (an ObjectInfo carries its bucket's name, and nats.go
// writes deletes there). Chunk deletions in the tail (empty rollups) are
// not applied: the new primary may still reference that data from a
// record it kept; the data stays until its container is deleted.

// dataPrefix names internal/blob's immutable data objects. Their deletion
// in the tail is not applied: a record the new primary kept (a conflict,
// or a metadata change) may still reference them; they stay as garbage.
const dataPrefix = "d/"

// objTail is what an object bucket's tail holds.
type objTail struct {
	metas  map[string]*jetstream.RawStreamMsg   // meta subject -> last message
	chunks map[string][]*jetstream.RawStreamMsg // chunk nuid -> its messages in order
}

func (r *rescuer) applyObjectTail(ctx context.Context, st jetstream.Stream, rs *RescuedStream, last uint64) error {
	src := strings.TrimPrefix(rs.Stream, objPrefix)
	tail := objTail{metas: map[string]*jetstream.RawStreamMsg{}, chunks: map[string][]*jetstream.RawStreamMsg{}}
	err := tailMsgs(ctx, st, rs.From, last, func(raw *jetstream.RawStreamMsg) error {
		if nuid, ok := strings.CutPrefix(raw.Subject, "$O."+src+".C."); ok {
			tail.chunks[nuid] = append(tail.chunks[nuid], raw)
		} else if strings.HasPrefix(raw.Subject, "$O."+src+".M.") {
			tail.metas[raw.Subject] = raw
		}
		return nil
	})
	if err != nil {
		return err
	}
	rs.Tail = uint64(len(tail.metas))
	target, err := r.remote.Stream(ctx, rs.Target)
	if err != nil {
		return fmt.Errorf("open %s: %w", rs.Target, err)
	}
	subjects := make([]string, 0, len(tail.metas))
	for s := range tail.metas {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	for _, s := range subjects {
		if err := r.applyObject(ctx, target, rs, tail, tail.metas[s]); err != nil {
			return err
		}
	}
	return nil
}

// applyObject applies one name's last meta (and its chunks) to target.
func (r *rescuer) applyObject(ctx context.Context, target jetstream.Stream, rs *RescuedStream, tail objTail, meta *jetstream.RawStreamMsg) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	subject, ok := mapSubject(meta.Subject, r.region, r.opts.NewPrimary)
	if !ok {
		return fmt.Errorf("meta %d: subject %q outside the namespace", meta.Sequence, meta.Subject)
	}
	cur, err := target.GetLastMsgForSubject(ctx, subject)
	var seq uint64
	if err == nil {
		seq = cur.Sequence
	} else if !isNotFound(err) {
		return fmt.Errorf("last of %s: %w", subject, err)
	}
	data, info, err := retarget(meta.Data, strings.TrimPrefix(rs.Target, objPrefix))
	if err != nil {
		return fmt.Errorf("meta %d: %w", meta.Sequence, err)
	}
	switch {
	case info.Deleted && strings.HasPrefix(info.Name, dataPrefix):
		rs.Unchanged++ // see dataPrefix
		return nil
	case seq >= rs.since:
		rs.Conflicts = append(rs.Conflicts, subject)
		return nil
	case cur != nil && sameObject(cur.Data, data, info.Bucket):
		rs.Unchanged++
		return nil
	}
	if err := r.copyChunks(ctx, tail.chunks[info.NUID], rs); err != nil {
		return err
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(seq, 10))
	if _, err := r.local.PublishMsg(ctx, msg, jetstream.WithExpectStream(rs.Target)); err != nil {
		if isWrongLastSeq(err) {
			rs.Conflicts = append(rs.Conflicts, subject) // written there meanwhile
			return nil
		}
		return fmt.Errorf("apply meta %d: %w", meta.Sequence, err)
	}
	rs.Applied++
	return nil
}

func (r *rescuer) copyChunks(ctx context.Context, chunks []*jetstream.RawStreamMsg, rs *RescuedStream) error {
	for _, c := range chunks {
		subject, _ := mapSubject(c.Subject, r.region, r.opts.NewPrimary)
		msg := &nats.Msg{Subject: subject, Data: c.Data, Header: rescueHeader(c.Header, r.region)}
		if _, err := r.local.PublishMsg(ctx, msg, jetstream.WithExpectStream(rs.Target)); err != nil {
			return fmt.Errorf("copy chunk %d: %w", c.Sequence, err)
		}
	}
	return nil
}

// sameObject compares a target meta (perhaps mirrored, naming the old
// bucket) with a retargeted one.
func sameObject(cur, data []byte, bucket string) bool {
	c, _, err := retarget(cur, bucket)
	return err == nil && bytes.Equal(c, data)
}

// retarget rewrites an ObjectInfo's bucket to the target's.
func retarget(data []byte, bucket string) ([]byte, jetstream.ObjectInfo, error) {
	var info jetstream.ObjectInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, info, fmt.Errorf("object meta: %w", err)
	}
	info.Bucket = bucket
	out, err := json.Marshal(info)
	return out, info, err
}

func isNotFound(err error) bool { return errors.Is(err, jetstream.ErrMsgNotFound) }

func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}
