package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// part is one data object of a blob or block.
type part struct {
	Data string `json:"d"`           // object name, "d/<nuid>"
	NUID string `json:"n,omitempty"` // its chunks' subject token
	Size int64  `json:"s"`
}

// crc64Table is Azure Storage's CRC64 (polynomial 0x9A6C9329AC4BC9B5, as
// the azblob SDK computes x-ms-content-crc64).
var crc64Table = crc64.MakeTable(0x9A6C9329AC4BC9B5)

// digests are the checksums of a body written.
type digests struct {
	md5   []byte
	crc64 []byte // 8 bytes, little-endian
}

// writeData stores body as data objects of at most PartSize bytes; more
// than limit bytes is refused with 413 (nothing kept). On any error the
// parts written are deleted.
// The CRC64 is computed only when wantCRC (the client sent one to check).
func (s *Service) writeData(ctx context.Context, st store, body io.Reader, limit int64, what string, wantCRC bool) ([]part, int64, digests, error) {
	if err := st.writable(); err != nil {
		return nil, 0, digests{}, err
	}
	m, c := md5.New(), crc64.New(crc64Table)
	var sums io.Writer = m
	if wantCRC {
		sums = io.MultiWriter(m, c)
	}
	in := io.TeeReader(io.LimitReader(body, limit+1), sums)
	parts, total, err := s.writeParts(ctx, st, in)
	if err == nil && total > limit {
		err = errTooLarge("%s is larger than %d bytes, the limit in this region", what, limit)
	}
	if err != nil {
		if derr := s.deleteData(context.WithoutCancel(ctx), st, parts); derr != nil {
			s.log.Warn("data of a failed upload not deleted", "bucket", st.name, "err", derr)
		}
		return nil, 0, digests{}, err
	}
	return parts, total, digests{md5: m.Sum(nil), crc64: crcBytes(c)}, nil
}

func crcBytes(c hash.Hash64) []byte {
	return binary.LittleEndian.AppendUint64(nil, c.Sum64())
}

// partBuffers holds PartSize buffers between requests: allocating and
// zeroing 4 MiB per small put cost more than the put itself.
var partBuffers = sync.Pool{New: func() any { b := make([]byte, PartSize); return &b }}

func (s *Service) writeParts(ctx context.Context, st store, in io.Reader) ([]part, int64, error) {
	bp := partBuffers.Get().(*[]byte)
	defer partBuffers.Put(bp)
	buf := *bp
	var parts []part
	var total int64
	for {
		n, err := io.ReadFull(in, buf)
		if n > 0 {
			p, perr := s.putPart(ctx, st, buf[:n])
			if perr != nil {
				return parts, total, perr
			}
			parts, total = append(parts, p), total+int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return parts, total, nil
		}
		var e *Error
		if errors.As(err, &e) {
			return parts, total, e // a structured body that does not check out
		}
		if err != nil {
			return parts, total, invalid("InvalidInput", "reading the request body: %v", err)
		}
	}
}

func (s *Service) putPart(ctx context.Context, st store, data []byte) (part, error) {
	name := "d/" + nuid.Next()
	info, err := st.Put(ctx, jetstream.ObjectMeta{Name: name}, bytes.NewReader(data))
	if err != nil {
		return part{}, fmt.Errorf("write data %s: %w", name, s.quota(st, err))
	}
	return part{Data: name, NUID: info.NUID, Size: int64(len(data))}, nil
}

// copyRange writes length bytes of the parts starting at offset to w.
func (s *Service) copyRange(ctx context.Context, st store, parts []part, offset, length int64, w io.Writer) error {
	for _, p := range parts {
		if length <= 0 {
			return nil
		}
		if offset >= p.Size {
			offset -= p.Size
			continue
		}
		n := min(p.Size-offset, length)
		if err := s.copyPart(ctx, st, p, offset, n, w); err != nil {
			return err
		}
		offset, length = 0, length-n
	}
	return nil
}

func (s *Service) copyPart(ctx context.Context, st store, p part, offset, n int64, w io.Writer) error {
	obj, err := st.Get(ctx, p.Data)
	if err != nil {
		return fmt.Errorf("read data %s: %w", p.Data, err)
	}
	defer obj.Close()
	if _, err := io.CopyN(io.Discard, obj, offset); err != nil {
		return fmt.Errorf("read data %s: %w", p.Data, err)
	}
	if _, err := io.CopyN(w, obj, n); err != nil {
		return fmt.Errorf("read data %s: %w", p.Data, err)
	}
	return nil
}
