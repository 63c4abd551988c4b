package blob

import (
	"net/http"
	"strconv"
	"strings"
)

// byteRange is an inclusive range of a blob's bytes as asked by a client;
// end < 0 means "to the end".
type byteRange struct {
	start, end int64
}

// parseRange reads "bytes=<start>-[<end>]" (the forms Azure accepts, in
// Range or x-ms-range). ok is false when there is no header; a malformed
// one is an InvalidHeaderValue naming the header.
func parseRange(header, value string) (r byteRange, ok bool, err error) {
	if value == "" {
		return r, false, nil
	}
	bad := invalid("InvalidHeaderValue", "header %s: %q is not bytes=<start>-[<end>]", header, value)
	spec, found := strings.CutPrefix(strings.TrimSpace(value), "bytes=")
	if !found {
		return r, false, bad
	}
	lo, hi, found := strings.Cut(spec, "-")
	if !found || lo == "" || strings.Contains(hi, ",") {
		return r, false, bad
	}
	start, err := strconv.ParseInt(lo, 10, 64)
	if err != nil || start < 0 {
		return r, false, bad
	}
	r = byteRange{start: start, end: -1}
	if hi == "" {
		return r, true, nil
	}
	end, err := strconv.ParseInt(hi, 10, 64)
	if err != nil || end < start {
		return r, false, bad
	}
	r.end = end
	return r, true, nil
}

// requestRange picks x-ms-range over Range, as Azure does.
func requestRange(h http.Header) (byteRange, bool, error) {
	if v := h.Get("x-ms-range"); v != "" {
		return parseRange("x-ms-range", v)
	}
	return parseRange("Range", h.Get("Range"))
}

// resolve clamps the range to a blob of size bytes: offset and length to
// send, or 416 InvalidRange when it starts past the end.
func (r byteRange) resolve(size int64) (offset, length int64, err error) {
	if r.start >= size {
		return 0, 0, errInvalidRange(r.start, size)
	}
	end := size - 1
	if r.end >= 0 && r.end < end {
		end = r.end
	}
	return r.start, end - r.start + 1, nil
}
