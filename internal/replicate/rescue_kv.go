package replicate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// KV operation header values (nats.go's KV wire format).
const (
	kvOpHeader = "KV-Operation"
	kvOpDel    = "DEL"
	kvOpPurge  = "PURGE"
)

// applyTail writes each key's last tail value into the new primary's
// bucket, unless the new primary wrote that key since the promotion.
func (r *rescuer) applyTail(ctx context.Context, st jetstream.Stream, rs *RescuedStream, last uint64) error {
	writes, err := lastWrites(ctx, st, rs, last)
	if err != nil {
		return err
	}
	target, err := r.remote.Stream(ctx, rs.Target)
	if err != nil {
		return fmt.Errorf("open %s: %w", rs.Target, err)
	}
	if target.CachedInfo().Config.Mirror != nil {
		// A KV handle on a mirror writes to its origin: possibly back here.
		return fmt.Errorf("target %s became a mirror", rs.Target)
	}
	bucket := strings.TrimPrefix(rs.Target, kvPrefix)
	kv, err := r.remote.KeyValue(ctx, bucket)
	if err != nil {
		return fmt.Errorf("open bucket %s: %w", bucket, err)
	}
	keys := make([]string, 0, len(writes))
	for k := range writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if err := r.applyKey(ctx, target, kv, rs, key, writes[key]); err != nil {
			return err
		}
	}
	return nil
}

// lastWrites collects the last write of each key in the tail.
func lastWrites(ctx context.Context, st jetstream.Stream, rs *RescuedStream, last uint64) (map[string]kvWrite, error) {
	prefix := "$KV." + strings.TrimPrefix(rs.Stream, kvPrefix) + "."
	out := map[string]kvWrite{}
	err := tailMsgs(ctx, st, rs.From, last, func(raw *jetstream.RawStreamMsg) error {
		key, ok := strings.CutPrefix(raw.Subject, prefix)
		if !ok {
			return nil
		}
		op := raw.Header.Get(kvOpHeader)
		out[key] = kvWrite{data: raw.Data, delete: op == kvOpDel || op == kvOpPurge}
		return nil
	})
	rs.Tail = uint64(len(out))
	return out, err
}

// applyKey applies one key's write under the rule in RescueTail.
func (r *rescuer) applyKey(ctx context.Context, target jetstream.Stream, kv jetstream.KeyValue, rs *RescuedStream, key string, w kvWrite) error {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout) // a lost reply fails this rescue (rerun it)
	defer cancel()
	rev, cur, err := lastOf(ctx, target, "$KV."+kv.Bucket()+"."+key)
	if err != nil {
		return err
	}
	if cur != nil && cur.delete == w.delete && bytes.Equal(cur.data, w.data) || w.delete && (cur == nil || cur.delete) {
		rs.Unchanged++
		return nil
	}
	if rev >= rs.since {
		rs.Conflicts = append(rs.Conflicts, key)
		return nil
	}
	err = writeKey(ctx, kv, key, w, rev)
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		rs.Conflicts = append(rs.Conflicts, key) // written concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("key %s: %w", key, err)
	}
	rs.Applied++
	return nil
}

// lastOf returns the revision and write of a subject's last message,
// delete markers included (rev 0, nil when it has none).
func lastOf(ctx context.Context, st jetstream.Stream, subject string) (uint64, *kvWrite, error) {
	raw, err := st.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("last of %s: %w", subject, err)
	}
	op := raw.Header.Get(kvOpHeader)
	return raw.Sequence, &kvWrite{data: raw.Data, delete: op == kvOpDel || op == kvOpPurge}, nil
}

// writeKey writes w with compare-and-set on the target's revision.
func writeKey(ctx context.Context, kv jetstream.KeyValue, key string, w kvWrite, rev uint64) error {
	switch {
	case w.delete:
		return kv.Delete(ctx, key, jetstream.LastRevision(rev))
	case rev == 0:
		_, err := kv.Create(ctx, key, w.data)
		return err
	default:
		_, err := kv.Update(ctx, key, w.data, rev)
		return err
	}
}
