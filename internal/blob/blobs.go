package blob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"fmt"
	"github.com/nats-io/nats.go/jetstream"
	"io"
	"time"
)

// Properties are a blob's HTTP properties, set on put, commit and Set Blob
// Properties.
type Properties struct {
	ContentType        string `json:"type,omitempty"`
	ContentEncoding    string `json:"enc,omitempty"`
	ContentLanguage    string `json:"lang,omitempty"`
	ContentDisposition string `json:"disp,omitempty"`
	CacheControl       string `json:"cache,omitempty"`
	ContentMD5         []byte `json:"md5,omitempty"`
}

// Blob is a committed blob's record.
type Blob struct {
	Name     string            `json:"-"`
	Size     int64             `json:"size"`
	ETag     string            `json:"etag"`
	Created  time.Time         `json:"created"`
	Modified time.Time         `json:"modified"`
	Props    Properties        `json:"props"`
	Metadata map[string]string `json:"meta,omitempty"`
	// Committed is when the blob's content was last put or committed:
	// blocks staged before it were discarded then.
	Committed time.Time `json:"committed"`
	Blocks    []block   `json:"blocks,omitempty"`
}

// block is a committed block (ID "" for a Put Blob body).
type block struct {
	ID    string `json:"id,omitempty"`
	Size  int64  `json:"size"`
	Parts []part `json:"parts"`
}

func (b *Blob) state() state {
	if b == nil {
		return state{}
	}
	return state{exists: true, etag: b.ETag, modified: b.Modified}
}

func (b *Blob) parts() []part {
	if b == nil {
		return nil
	}
	var out []part
	for _, bl := range b.Blocks {
		out = append(out, bl.Parts...)
	}
	return out
}

// PutRequest is the input of PutBlob and CommitBlocks.
type PutRequest struct {
	Props    Properties
	Metadata map[string]string
	Cond     conditions
	// ContentMD5 and ContentCRC64 are the transactional checksums the
	// client sent for the body (Content-MD5, x-ms-content-crc64), if any.
	ContentMD5, ContentCRC64 []byte
}

// openBlob opens a container and reads a blob's record (nil if none).
// A blob record found means its container exists (blobs are written only
// into existing containers, and deleting one deletes its bucket), so the
// container record is read only when the blob is missing: to answer
// ContainerNotFound rather than BlobNotFound.
func (s *Service) openBlob(ctx context.Context, app, container, name string) (store, *Blob, uint64, error) {
	st, err := s.open(ctx, app, container)
	if err != nil {
		return store{}, nil, 0, err
	}
	var b Blob
	seq, ok, err := s.readRecord(ctx, st, blobObject(name), &b)
	if err == nil && ok {
		b.Name = name
		return st, &b, seq, nil
	}
	if _, _, _, cerr := s.container(ctx, app, container); cerr != nil {
		return store{}, nil, 0, cerr // also evicts a bucket deleted under us
	}
	return st, nil, seq, err
}

// PutBlob stores body as the blob's whole content.
func (s *Service) PutBlob(ctx context.Context, app, container, name string, body io.Reader, req PutRequest) (*Blob, digests, error) {
	st, err := s.precheck(ctx, app, container, name, req.Cond)
	if err != nil {
		return nil, digests{}, err
	}
	parts, size, sums, err := s.writeData(ctx, st, body, s.opts.MaxBlobBytes, "a Put Blob body", req.ContentCRC64 != nil)
	if err == nil {
		err = checkSums(req, sums)
	}
	if err != nil {
		s.dropData(ctx, st, parts)
		return nil, digests{}, err
	}
	if req.Props.ContentMD5 == nil {
		req.Props.ContentMD5 = sums.md5
	}
	b, err := s.commit(ctx, st, name, []block{{Size: size, Parts: parts}}, req)
	if err != nil {
		s.dropData(ctx, st, parts)
		return nil, digests{}, err
	}
	return b, sums, nil
}

// precheck opens the container for a write and, when the request has
// conditions, fails them before the upload (commit checks them again).
func (s *Service) precheck(ctx context.Context, app, container, name string, cond conditions) (store, error) {
	if !cond.any() {
		st, _, _, err := s.container(ctx, app, container)
		if err == nil {
			err = st.writable()
		}
		return st, err
	}
	st, cur, _, err := s.openBlob(ctx, app, container, name)
	if err == nil {
		err = st.writable()
	}
	if err == nil {
		err = cond.check(cur.state(), false)
	}
	return st, err
}

// checkSums refuses a body whose transactional checksums do not match.
func checkSums(req PutRequest, sums digests) error {
	if req.ContentMD5 != nil && !bytes.Equal(req.ContentMD5, sums.md5) {
		return invalid("Md5Mismatch", "the MD5 value specified in the request did not match with the MD5 value calculated by the server")
	}
	if req.ContentCRC64 != nil && !bytes.Equal(req.ContentCRC64, sums.crc64) {
		return invalid("Crc64Mismatch", "the CRC64 value specified in the request did not match with the CRC64 value calculated by the server")
	}
	return nil
}

func (s *Service) dropData(ctx context.Context, st store, parts []part) {
	if err := s.deleteData(context.WithoutCancel(ctx), st, parts); err != nil {
		s.log.Warn("orphaned blob data not deleted", "bucket", st.name, "err", err)
	}
}

// commit writes the blob's record with blocks as its content, checking the
// conditions again against the record it replaces (atomically), then
// deletes the data the old record had and the new one does not.
func (s *Service) commit(ctx context.Context, st store, name string, blocks []block, req PutRequest) (*Blob, error) {
	var cur Blob
	seq, ok, err := s.readRecord(ctx, st, blobObject(name), &cur)
	if err != nil {
		return nil, err
	}
	old := &cur
	if !ok {
		old = nil
	}
	if err := req.Cond.check(old.state(), false); err != nil {
		return nil, err
	}
	now := s.clock.Now().UTC()
	b := &Blob{Name: name, ETag: s.etags.next(now), Created: now, Modified: now, Committed: now,
		Props: req.Props, Metadata: req.Metadata, Blocks: blocks}
	if old != nil {
		b.Created = old.Created
	}
	for _, bl := range blocks {
		b.Size += bl.Size
	}
	if err := s.writeRecord(ctx, st, blobObject(name), b, seq); err != nil {
		return nil, fmt.Errorf("commit blob %s: %w", name, err)
	}
	s.dropData(ctx, st, unused(old.parts(), b.parts()))
	return b, nil
}

// unused returns the parts of old that are not in keep.
func unused(old, keep []part) []part {
	kept := map[string]bool{}
	for _, p := range keep {
		kept[p.Data] = true
	}
	var out []part
	for _, p := range old {
		if !kept[p.Data] {
			kept[p.Data] = true // once
			out = append(out, p)
		}
	}
	return out
}

// GetBlob returns a blob's record after checking read conditions.
func (s *Service) GetBlob(ctx context.Context, app, container, name string, cond conditions) (store, *Blob, error) {
	st, b, _, err := s.openBlob(ctx, app, container, name)
	if err != nil {
		return store{}, nil, err
	}
	if b == nil {
		return store{}, nil, errBlobNotFound(container, name)
	}
	if err := cond.check(b.state(), true); err != nil {
		return store{}, nil, err
	}
	return st, b, nil
}

// ReadBlob writes length bytes of the blob from offset to w.
func (s *Service) ReadBlob(ctx context.Context, st store, b *Blob, offset, length int64, w io.Writer) error {
	return s.copyRange(ctx, st, b.parts(), offset, length, w)
}

// DeleteBlob deletes a blob and its data.
func (s *Service) DeleteBlob(ctx context.Context, app, container, name string, cond conditions) error {
	st, b, seq, err := s.openBlob(ctx, app, container, name)
	if err != nil {
		return err
	}
	if b == nil {
		return errBlobNotFound(container, name)
	}
	if err := st.writable(); err != nil {
		return err
	}
	if err := cond.check(b.state(), false); err != nil {
		return err
	}
	if err := s.deleteRecord(ctx, st, blobObject(name), seq); err != nil {
		return fmt.Errorf("delete blob %s: %w", name, err)
	}
	s.dropData(ctx, st, b.parts())
	return nil
}

// UpdateBlob changes a blob's metadata or properties (not its content).
func (s *Service) UpdateBlob(ctx context.Context, app, container, name string, cond conditions, change func(*Blob)) (*Blob, error) {
	st, b, seq, err := s.openBlob(ctx, app, container, name)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errBlobNotFound(container, name)
	}
	if err := st.writable(); err != nil {
		return nil, err
	}
	if err := cond.check(b.state(), false); err != nil {
		return nil, err
	}
	change(b)
	now := s.clock.Now().UTC()
	b.ETag, b.Modified = s.etags.next(now), now
	if err := s.writeRecord(ctx, st, blobObject(name), b, seq); err != nil {
		return nil, fmt.Errorf("update blob %s: %w", name, err)
	}
	return b, nil
}

// ListBlobs returns the container's committed blobs sorted by name.
func (s *Service) ListBlobs(ctx context.Context, app, container string) ([]*Blob, error) {
	st, _, _, err := s.container(ctx, app, container)
	if err != nil {
		return nil, err
	}
	out, err := s.blobRecords(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("list blobs of %s/%s: %w", app, container, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// blobRecords streams the bucket's live metas and keeps the blob records
// only (without their parts): memory goes with the blobs listed, not with
// the data objects.
func (s *Service) blobRecords(ctx context.Context, st store) ([]*Blob, error) {
	var out []*Blob
	err := s.walkMetas(ctx, st, func(info *jetstream.ObjectInfo) {
		if b := blobOf(info); b != nil {
			out = append(out, b)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// walkMetas streams the bucket's live metas (the last of each name) to
// fn.
func (s *Service) walkMetas(ctx context.Context, st store, fn func(*jetstream.ObjectInfo)) error {
	w, err := st.Watch(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case info, ok := <-w.Updates():
			if !ok {
				return errors.New("watch ended before the listing was complete")
			}
			if info == nil {
				return nil // every existing object seen
			}
			if !info.Deleted {
				fn(info)
			}
		}
	}
}

func blobOf(info *jetstream.ObjectInfo) *Blob {
	name, ok := strings.CutPrefix(info.Name, "b/")
	if !ok || info.Deleted {
		return nil
	}
	b := &Blob{Name: name}
	if err := json.Unmarshal([]byte(info.Metadata[recordKey]), b); err != nil {
		return nil // not a record of ours
	}
	b.Blocks = nil
	return b
}
