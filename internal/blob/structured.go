package blob

import (
	"encoding/binary"
	"errors"
	"hash"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
)

// Structured message bodies (XSM/1.0 with CRC64), the way the azblob SDK
// checks CRC64 end to end when a client asks for
// TransferValidationTypeComputeStructuredMessageCRC64: a 13-byte header
// (version 1, message length, flags, segment count, little-endian), then
// per segment its number, data length, data and CRC64, then the CRC64 of
// all the data. Requests carry x-ms-structured-body and
// x-ms-structured-content-length (the decoded length); a download asked
// with x-ms-structured-body gets its body encoded the same way.

const (
	smHeaderValue  = "XSM/1.0; properties=crc64"
	smHeaderSize   = 13
	smSegHeader    = 10
	smCRCSize      = 8
	smFlagCRC64    = 1
	smSegmentBytes = 4 << 20
)

var errSMCRC = invalid("Crc64Mismatch", "a CRC64 of the structured message body does not match its data")

func errSM(format string, args ...any) *Error {
	return invalid("InvalidInput", "structured message body: "+format, args...)
}

// structuredBody returns the request body, decoded when it is a
// structured message, and whether it was.
func structuredBody(r *http.Request) (io.Reader, bool, error) {
	v := r.Header.Get("x-ms-structured-body")
	if v == "" {
		return r.Body, false, nil
	}
	if v != smHeaderValue {
		return nil, false, invalid("InvalidHeaderValue", "header x-ms-structured-body: %q is not supported; only %q", v, smHeaderValue)
	}
	n, err := strconv.ParseInt(r.Header.Get("x-ms-structured-content-length"), 10, 64)
	if err != nil || n < 0 {
		return nil, false, invalid("InvalidHeaderValue", "header x-ms-structured-content-length must be the decoded body length")
	}
	return &smReader{in: r.Body, want: n, all: crc64.New(crc64Table), seg: crc64.New(crc64Table)}, true, nil
}

// smReader decodes and checks a structured message as it is read.
type smReader struct {
	in         io.Reader
	want, got  int64 // decoded length announced, and read so far
	segments   uint16
	next       uint16 // next segment number
	left       int64  // data bytes left in the current segment
	started    bool
	done       bool
	all, seg   hash.Hash64
	headerRead bool
}

func (s *smReader) Read(p []byte) (int, error) {
	for s.left == 0 {
		if s.done {
			return 0, io.EOF
		}
		if err := s.advance(); err != nil {
			return 0, err
		}
	}
	n, err := s.in.Read(p[:min(int64(len(p)), s.left)])
	s.left -= int64(n)
	s.got += int64(n)
	s.all.Write(p[:n])
	s.seg.Write(p[:n])
	if errors.Is(err, io.EOF) && s.left > 0 {
		return n, errSM("the body ends inside segment %d", s.next-1)
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// advance reads what lies between two segments' data: the message
// header, a segment's footer and the next header, or the trailer.
func (s *smReader) advance() error {
	if !s.headerRead {
		return s.readHeader()
	}
	if s.started {
		if err := s.checkCRC(s.seg, "segment"); err != nil {
			return err
		}
	}
	if s.next > s.segments {
		if err := s.checkCRC(s.all, "message"); err != nil {
			return err
		}
		if s.got != s.want {
			return errSM("%d bytes decoded, x-ms-structured-content-length says %d", s.got, s.want)
		}
		s.done = true
		return nil
	}
	return s.readSegmentHeader()
}

func (s *smReader) readHeader() error {
	var h [smHeaderSize]byte
	if _, err := io.ReadFull(s.in, h[:]); err != nil {
		return errSM("no header: %v", err)
	}
	if h[0] != 1 || binary.LittleEndian.Uint16(h[9:11])&smFlagCRC64 == 0 {
		return errSM("version %d flags %#x; want version 1 with CRC64", h[0], binary.LittleEndian.Uint16(h[9:11]))
	}
	s.segments, s.next, s.headerRead = binary.LittleEndian.Uint16(h[11:13]), 1, true
	if s.segments == 0 {
		return errSM("no segments")
	}
	return s.readSegmentHeader()
}

func (s *smReader) readSegmentHeader() error {
	var h [smSegHeader]byte
	if _, err := io.ReadFull(s.in, h[:]); err != nil {
		return errSM("segment %d: no header: %v", s.next, err)
	}
	if num := binary.LittleEndian.Uint16(h[:2]); num != s.next {
		return errSM("segment %d found where %d was expected", num, s.next)
	}
	size := binary.LittleEndian.Uint64(h[2:])
	if size > uint64(s.want-s.got) {
		return errSM("segment %d of %d bytes is past the announced length", s.next, size)
	}
	s.left, s.started = int64(size), true
	s.next++
	s.seg.Reset()
	if s.left == 0 {
		return s.advance()
	}
	return nil
}

func (s *smReader) checkCRC(h hash.Hash64, what string) error {
	var c [smCRCSize]byte
	if _, err := io.ReadFull(s.in, c[:]); err != nil {
		return errSM("no %s CRC64: %v", what, err)
	}
	if binary.LittleEndian.Uint64(c[:]) != h.Sum64() {
		return errSMCRC
	}
	return nil
}

// smLength is the encoded length of n bytes of data.
func smLength(n int64) int64 {
	segs := max(1, (n+smSegmentBytes-1)/smSegmentBytes)
	return smHeaderSize + segs*(smSegHeader+smCRCSize) + n + smCRCSize
}

// smWriter encodes n bytes written to it as a structured message on w.
type smWriter struct {
	w        io.Writer
	n, done  int64
	segLeft  int64
	next     uint16
	all, seg hash.Hash64
}

func newSMWriter(w io.Writer, n int64) (*smWriter, error) {
	s := &smWriter{w: w, n: n, next: 1, all: crc64.New(crc64Table), seg: crc64.New(crc64Table)}
	segs := max(1, (n+smSegmentBytes-1)/smSegmentBytes)
	var h [smHeaderSize]byte
	h[0] = 1
	binary.LittleEndian.PutUint64(h[1:9], uint64(smLength(n)))
	binary.LittleEndian.PutUint16(h[9:11], smFlagCRC64)
	binary.LittleEndian.PutUint16(h[11:13], uint16(segs))
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return s, s.startSegment()
}

func (s *smWriter) startSegment() error {
	s.segLeft = min(smSegmentBytes, s.n-s.done)
	var h [smSegHeader]byte
	binary.LittleEndian.PutUint16(h[:2], s.next)
	binary.LittleEndian.PutUint64(h[2:], uint64(s.segLeft))
	s.next++
	s.seg.Reset()
	_, err := s.w.Write(h[:])
	return err
}

func (s *smWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if s.segLeft == 0 {
			if err := s.endSegment(); err != nil {
				return written, err
			}
			if err := s.startSegment(); err != nil {
				return written, err
			}
		}
		k := int(min(int64(len(p)), s.segLeft))
		if _, err := s.w.Write(p[:k]); err != nil {
			return written, err
		}
		s.all.Write(p[:k])
		s.seg.Write(p[:k])
		s.segLeft, s.done, written, p = s.segLeft-int64(k), s.done+int64(k), written+k, p[k:]
	}
	return written, nil
}

func (s *smWriter) endSegment() error {
	_, err := s.w.Write(binary.LittleEndian.AppendUint64(nil, s.seg.Sum64()))
	return err
}

// Close writes the last segment's CRC64 and the message's.
func (s *smWriter) Close() error {
	if s.done != s.n {
		return errors.New("structured message: short data")
	}
	if err := s.endSegment(); err != nil {
		return err
	}
	_, err := s.w.Write(binary.LittleEndian.AppendUint64(nil, s.all.Sum64()))
	return err
}
