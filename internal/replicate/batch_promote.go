package replicate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Trimming at promotion (batch.go) deletes messages, which does not lower
// a stream's last sequence, so a Promote run again after a trim could no
// longer tell where the dropped batch began. The trim is recorded first
// in the progress bucket (trimmedKey), and a rerun that finds a record
// for the same mirror state keeps its lowered last sequence.

// trimmedKey holds the trim of a stream's incomplete batch.
func trimmedKey(stream string) string { return "trimmed." + stream }

// trimRecord is the value under trimmedKey.
type trimRecord struct {
	// Before is the last sequence before the dropped batch.
	Before uint64 `json:"before"`
	// MirrorLast is the mirror's last sequence when it was trimmed.
	MirrorLast uint64 `json:"mirrorLast"`
}

// trimBatch drops a trailing incomplete atomic batch before the
// promotion is recorded, so RescueTail brings the whole batch back.
func (p *promoter) trimBatch(ctx context.Context, info *jetstream.StreamInfo, ps *PromotedStream) error {
	st, err := p.js.Stream(ctx, info.Config.Name)
	if err != nil {
		return wrapTrim(ps.Stream, err)
	}
	rec, hasRec, err := p.loadTrim(ctx, ps.Stream, ps.LastSeq)
	if err != nil {
		return err
	}
	tr, err := planTrim(ctx, st, ps.LastSeq)
	if err != nil {
		return wrapTrim(ps.Stream, err)
	}
	if tr.kept > 0 {
		p.log.Warn("incomplete atomic batch promoted as it is (it overwrote values the mirror no longer has); the old primary's rescue brings the rest",
			"stream", ps.Stream, "messages", tr.kept)
	}
	if len(tr.head) > 0 && !hasRec {
		rec, hasRec = trimRecord{Before: tr.before, MirrorLast: ps.LastSeq}, true
		if err := p.saveTrim(ctx, ps.Stream, rec); err != nil {
			return err
		}
	}
	if err := deleteHead(ctx, st, tr.head); err != nil {
		return wrapTrim(ps.Stream, err)
	}
	if hasRec {
		p.log.Warn("incomplete atomic batch dropped from a mirror; the old primary's rescue brings it back whole",
			"stream", ps.Stream, "messages", len(tr.head), "lastSeq", rec.Before)
		ps.Dropped += uint64(len(tr.head))
		ps.LastSeq = rec.Before
	}
	return nil
}

// loadTrim returns the trim recorded for stream at the mirror's current
// last sequence, if any.
func (p *promoter) loadTrim(ctx context.Context, stream string, mirrorLast uint64) (trimRecord, bool, error) {
	e, err := p.progress.Get(ctx, trimmedKey(stream))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return trimRecord{}, false, nil
	}
	if err != nil {
		return trimRecord{}, false, fmt.Errorf("trim record of %s: %w", stream, err)
	}
	var rec trimRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return trimRecord{}, false, fmt.Errorf("trim record of %s: %w", stream, err)
	}
	return rec, rec.MirrorLast == mirrorLast, nil
}

func (p *promoter) saveTrim(ctx context.Context, stream string, rec trimRecord) error {
	data, _ := json.Marshal(rec) // plain struct
	if _, err := p.progress.Put(ctx, trimmedKey(stream), data); err != nil {
		return fmt.Errorf("record the trim of %s: %w", stream, err)
	}
	return nil
}
