package gateway

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// DefaultMaxBodyInFlight bounds the request body bytes a region buffers
// for payload-mode invocations at once (Options.MaxBodyInFlight).
const DefaultMaxBodyInFlight = 512 << 20

// ErrBusy refuses a request whose body would take the region over its
// bytes-in-flight limit; the gateway answers 503 with Retry-After.
var ErrBusy = errors.New("request bodies in flight are at this region's limit")

// budget counts the body bytes held by requests in flight.
type budget struct {
	limit int64
	used  atomic.Int64
}

// take reserves n bytes, or refuses when that would pass the limit.
func (b *budget) take(n int64) error {
	if b.used.Add(n) > b.limit {
		used := b.used.Add(-n)
		return fmt.Errorf("%w: %d bytes held, %d more asked, limit %d bytes (region option --max-body-bytes-in-flight); retry later", ErrBusy, used, n, b.limit)
	}
	return nil
}

func (b *budget) give(n int64) { b.used.Add(-n) }

// meteredBody reserves budget for a body of unknown length as it is read.
type meteredBody struct {
	io.ReadCloser
	b     *budget
	taken int64
}

func (m *meteredBody) Read(p []byte) (int, error) {
	n, err := m.ReadCloser.Read(p)
	if n > 0 {
		if berr := m.b.take(int64(n)); berr != nil {
			return 0, berr
		}
		m.taken += int64(n)
	}
	return n, err
}
