package blob

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Records (container, blob, uncommitted block) are zero-length objects of
// the container's bucket whose JSON is in the object's metadata under
// recordKey. They are written here rather than through ObjectStore.Put so
// that a write can be conditional (Nats-Expected-Last-Subject-Sequence on
// the meta subject: If-Match without a race) and so that the meta names
// this region's bucket: an ObjectInfo read from a promoted mirror names the
// old primary's, and nats.go's Delete/UpdateMeta publish there.

const recordKey = "tandem"

// Object names inside a container's bucket.
const containerObject = "c"

func blobObject(name string) string           { return "b/" + name }
func blockObject(blob, blockID string) string { return "u/" + blob + "\x00" + blockID }

var emptyDigest = func() string {
	sum := sha256.Sum256(nil)
	return "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:])
}()

func metaSubject(bucket, object string) string {
	return "$O." + bucket + ".M." + base64.URLEncoding.EncodeToString([]byte(object))
}

func chunkSubject(bucket, nuid string) string { return "$O." + bucket + ".C." + nuid }

// readRecord returns the record's JSON decoded into v and the meta
// message's sequence (for a conditional write), or ok=false.
func (s *Service) readRecord(ctx context.Context, st store, object string, v any) (seq uint64, ok bool, err error) {
	msg, err := st.stream.GetLastMsgForSubject(ctx, metaSubject(st.name, object))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", object, err)
	}
	var info jetstream.ObjectInfo
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		return 0, false, fmt.Errorf("read %s: meta: %w", object, err)
	}
	if info.Deleted {
		return msg.Sequence, false, nil
	}
	if err := json.Unmarshal([]byte(info.Metadata[recordKey]), v); err != nil {
		return 0, false, fmt.Errorf("read %s: record: %w", object, err)
	}
	return msg.Sequence, true, nil
}

// writeRecord stores v as object's record. expect is the meta sequence the
// subject must still be at (0: must not exist), or anySeq.
func (s *Service) writeRecord(ctx context.Context, st store, object string, v any, expect uint64) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write %s: %w", object, err)
	}
	info := jetstream.ObjectInfo{
		ObjectMeta: jetstream.ObjectMeta{Name: object, Metadata: map[string]string{recordKey: string(data)}},
		Bucket:     st.name, NUID: nuid.Next(), Digest: emptyDigest,
	}
	return s.publishMeta(ctx, st, info, expect)
}

// anySeq makes a record write unconditional.
const anySeq = ^uint64(0)

func (s *Service) publishMeta(ctx context.Context, st store, info jetstream.ObjectInfo, expect uint64, opts ...jetstream.PublishOpt) error {
	if err := st.writable(); err != nil {
		return err
	}
	data, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("write %s: %w", info.Name, err)
	}
	msg := nats.NewMsg(metaSubject(st.name, info.Name))
	msg.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	if expect != anySeq {
		msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expect, 10))
	}
	msg.Data = data
	ack, err := s.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return errRaced(info.Name)
		}
		return fmt.Errorf("write %s: %w", info.Name, s.quota(st, err))
	}
	noteWrite(ctx, ack.Stream, ack.Sequence) // sync mode (sync.go)
	return nil
}

// errRaced: a conditional record write lost to a concurrent one.
func errRaced(object string) *Error {
	return errConditionNotMet("%s was changed by a concurrent request", object)
}

// deleteRecord writes a tombstone for object (conditional like writeRecord).
func (s *Service) deleteRecord(ctx context.Context, st store, object string, expect uint64) error {
	info := jetstream.ObjectInfo{ObjectMeta: jetstream.ObjectMeta{Name: object}, Bucket: st.name, NUID: nuid.Next(), Deleted: true}
	return s.publishMeta(ctx, st, info, expect)
}

// deleteData drops data objects: a tombstone on the meta subject and an
// empty rollup on the chunk subject, which removes the chunks here and, as
// a replicated message, in every mirror (a purge would not be mirrored).
func (s *Service) deleteData(ctx context.Context, st store, parts []part) error {
	var errs []error
	for _, p := range parts {
		nuid, err := s.partNUID(ctx, st, p)
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		msg := nats.NewMsg(chunkSubject(st.name, nuid))
		msg.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
		if _, err := s.js.PublishMsg(ctx, msg, s.markerTTL(st)...); err != nil {
			errs = append(errs, err)
			continue
		}
		info := jetstream.ObjectInfo{ObjectMeta: jetstream.ObjectMeta{Name: p.Data}, Bucket: st.name, NUID: nuid, Deleted: true}
		errs = append(errs, s.publishMeta(ctx, st, info, anySeq, s.markerTTL(st)...))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete data of %d parts: %w", len(parts), err)
	}
	return nil
}

// markerTTL makes a deleted data object's markers expire, where the
// bucket allows it.
func (s *Service) markerTTL(st store) []jetstream.PublishOpt {
	if !st.ttl {
		return nil
	}
	return []jetstream.PublishOpt{jetstream.WithMsgTTL(s.opts.TombstoneTTL)}
}

// partNUID is the chunk token of a data object (recorded with the part;
// looked up for parts recorded without it).
func (s *Service) partNUID(ctx context.Context, st store, p part) (string, error) {
	if p.NUID != "" {
		return p.NUID, nil
	}
	info, err := st.GetInfo(ctx, p.Data)
	if err != nil {
		return "", err
	}
	return info.NUID, nil
}

// quota turns the stream's "maximum bytes exceeded" into a 413 naming the
// container's limit.
func (s *Service) quota(st store, err error) error {
	if strings.Contains(err.Error(), "maximum bytes exceeded") {
		return errTooLarge("container bucket %s is full (%d bytes); delete blobs first", st.name, s.opts.MaxContainerBytes)
	}
	return err
}

// etagSource hands out Azure-style ETags ("0x" + hex), strictly increasing.
type etagSource struct {
	mu   sync.Mutex
	last int64
}

func (e *etagSource) next(now time.Time) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := max(now.UnixNano(), e.last+1)
	e.last = n
	return `"0x` + strconv.FormatInt(n, 16) + `"`
}
