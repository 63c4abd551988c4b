package blob

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// stagedBlock is an uncommitted block's record.
type stagedBlock struct {
	Staged time.Time `json:"staged"`
	Size   int64     `json:"size"`
	Parts  []part    `json:"parts"`
}

// StageBlock stores body as an uncommitted block of the blob; a block
// staged again under the same id replaces the earlier one.
func (s *Service) StageBlock(ctx context.Context, app, container, name, id string, body io.Reader, req PutRequest) (digests, error) {
	if err := validBlockID(id); err != nil {
		return digests{}, err
	}
	st, _, _, err := s.container(ctx, app, container)
	if err != nil {
		return digests{}, err
	}
	parts, size, sums, err := s.writeData(ctx, st, body, s.opts.MaxBlockBytes, "a Put Block body", req.ContentCRC64 != nil)
	if err == nil {
		err = checkSums(req, sums)
	}
	if err != nil {
		s.dropData(ctx, st, parts)
		return digests{}, err
	}
	var old stagedBlock
	_, had, err := s.readRecord(ctx, st, blockObject(name, id), &old)
	if err == nil {
		err = s.writeRecord(ctx, st, blockObject(name, id), stagedBlock{Staged: s.clock.Now().UTC(), Size: size, Parts: parts}, anySeq)
	}
	if err != nil {
		s.dropData(ctx, st, parts)
		return digests{}, fmt.Errorf("stage block of %s: %w", name, err)
	}
	if had {
		s.dropData(ctx, st, unused(old.Parts, parts))
	}
	return sums, nil
}

// CommitBlocks makes the listed blocks the blob's content (Put Block
// List). Uncommitted blocks it names are taken; the others are discarded,
// as Azure does.
func (s *Service) CommitBlocks(ctx context.Context, app, container, name string, refs []blockRef, req PutRequest) (*Blob, error) {
	st, cur, _, err := s.openBlob(ctx, app, container, name)
	if err == nil {
		err = st.writable()
	}
	if err == nil {
		err = req.Cond.check(cur.state(), false)
	}
	if err != nil {
		return nil, err
	}
	blocks, used, err := s.resolveBlocks(ctx, st, name, cur, refs)
	if err != nil {
		return nil, err
	}
	b, err := s.commit(ctx, st, name, blocks, req)
	if err != nil {
		return nil, err
	}
	for _, id := range used {
		if err := s.deleteRecord(ctx, st, blockObject(name, id), anySeq); err != nil {
			s.log.Warn("committed block record not deleted", "bucket", st.name, "blob", name, "err", err)
		}
	}
	s.maybeSweep(app, container, st.name)
	return b, nil
}

// resolveBlocks finds each listed block; used are the uncommitted ids
// taken (their records are dropped after the commit).
func (s *Service) resolveBlocks(ctx context.Context, st store, name string, cur *Blob, refs []blockRef) ([]block, []string, error) {
	committed := map[string]block{}
	if cur != nil {
		for _, b := range cur.Blocks {
			committed[b.ID] = b
		}
	}
	staged := map[string]*stagedBlock{}
	var blocks []block
	var used []string
	var total int64
	for _, ref := range refs {
		b, fresh, err := s.findBlock(ctx, st, name, cur, ref, committed, staged)
		if err != nil {
			return nil, nil, err
		}
		if fresh {
			used = append(used, ref.ID)
		}
		if total += b.Size; total > s.opts.MaxBlobBytes {
			return nil, nil, errTooLarge("the committed blocks add up to more than %d bytes, the limit on a blob in this region", s.opts.MaxBlobBytes)
		}
		blocks = append(blocks, b)
	}
	return blocks, used, nil
}

func (s *Service) findBlock(ctx context.Context, st store, name string, cur *Blob, ref blockRef,
	committed map[string]block, staged map[string]*stagedBlock) (block, bool, error) {
	if ref.Source != fromCommitted {
		sb, err := s.stagedBlock(ctx, st, name, ref.ID, cur, staged)
		if err != nil {
			return block{}, false, err
		}
		if sb != nil {
			return block{ID: ref.ID, Size: sb.Size, Parts: sb.Parts}, true, nil
		}
	}
	if b, ok := committed[ref.ID]; ok && ref.Source != fromUncommitted && ref.ID != "" {
		return b, false, nil
	}
	return block{}, false, invalid("InvalidBlockList", "the specified block list is invalid: block %q is not in the %s list", ref.ID, ref.sourceName())
}

// stagedBlock reads an uncommitted block (cached per commit); one staged
// before the blob's last put or commit was discarded then: nil.
func (s *Service) stagedBlock(ctx context.Context, st store, name, id string, cur *Blob, cache map[string]*stagedBlock) (*stagedBlock, error) {
	if sb, ok := cache[id]; ok {
		return sb, nil
	}
	var sb stagedBlock
	_, ok, err := s.readRecord(ctx, st, blockObject(name, id), &sb)
	if err != nil {
		return nil, err
	}
	if !ok || cur != nil && sb.Staged.Before(cur.Committed) {
		cache[id] = nil
		return nil, nil
	}
	cache[id] = &sb
	return &sb, nil
}

func (r blockRef) sourceName() string {
	switch r.Source {
	case fromCommitted:
		return "committed"
	case fromUncommitted:
		return "uncommitted"
	}
	return "uncommitted or committed"
}

// BlockList is the answer of Get Block List: the committed blocks of the
// blob (nil when it has no committed version) and the uncommitted ones
// still usable, in the order they were staged.
type BlockList struct {
	Blob        *Blob
	Committed   []blockXML
	Uncommitted []blockXML
}

// Blocks lists the blob's blocks (Get Block List): committed, uncommitted
// or both. As in Azure, a blob that has only uncommitted blocks has a
// block list (its committed list is empty); one with neither is
// BlobNotFound. Listing uncommitted blocks reads every meta of the
// container, as a listing does.
func (s *Service) Blocks(ctx context.Context, app, container, name string, committed, uncommitted bool) (*BlockList, error) {
	st, b, _, err := s.openBlob(ctx, app, container, name)
	if err != nil {
		return nil, err
	}
	out := &BlockList{Blob: b, Committed: []blockXML{}}
	if b != nil {
		for _, bl := range b.Blocks {
			if bl.ID != "" && committed {
				out.Committed = append(out.Committed, blockXML{Name: bl.ID, Size: bl.Size})
			}
		}
	}
	if uncommitted || b == nil {
		staged, err := s.stagedBlocks(ctx, st, name, b)
		if err != nil {
			return nil, fmt.Errorf("block list of %s/%s/%s: %w", app, container, name, err)
		}
		if b == nil && len(staged) == 0 {
			return nil, errBlobNotFound(container, name)
		}
		if uncommitted {
			out.Uncommitted = staged
		}
	}
	return out, nil
}

// stagedBlocks lists the blob's uncommitted blocks that a commit could
// still name: not discarded by a later put or commit of the blob, nor
// older than StagedTTL.
func (s *Service) stagedBlocks(ctx context.Context, st store, name string, cur *Blob) ([]blockXML, error) {
	prefix := blockObject(name, "")
	cutoff := s.clock.Now().Add(-StagedTTL)
	type staged struct {
		blockXML
		at time.Time
	}
	var found []staged
	err := s.walkMetas(ctx, st, func(info *jetstream.ObjectInfo) {
		id, ok := strings.CutPrefix(info.Name, prefix)
		if !ok {
			return
		}
		var sb stagedBlock
		if json.Unmarshal([]byte(info.Metadata[recordKey]), &sb) != nil ||
			sb.Staged.Before(cutoff) || cur != nil && sb.Staged.Before(cur.Committed) {
			return
		}
		found = append(found, staged{blockXML{Name: id, Size: sb.Size}, sb.Staged})
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].at.Before(found[j].at) })
	out := make([]blockXML, len(found))
	for i, f := range found {
		out[i] = f.blockXML
	}
	return out, nil
}
