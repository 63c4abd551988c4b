package queue

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestDeliveryAllocsCeiling bounds the allocations of turning one stored
// message into what a queue trigger hands the invoker: the Message from
// the stored headers and text, its body decoded, the host's Metadata and
// Data. It counts allocations, not time, so it holds on a loaded machine.
// Measured 2026-12-03: 47 allocations before the metadata and host
// string fast paths, 25 after.
func TestDeliveryAllocsCeiling(t *testing.T) {
	const ceiling = 28
	h := nats.Header{}
	h.Set(nats.MsgIdHdr, "4434c659-1b0c-4c1b-9c4e-2d9b1f0f3b2a")
	h.Set(hdrInserted, "2026-12-03T18:27:36.123456789Z")
	text := encodeText([]byte("1764786456123456789"), Base64)
	now := time.Date(2026, 12, 3, 18, 27, 37, 0, time.UTC)
	build := func() {
		m := fromStored(h, text, 42, 7*24*time.Hour, now)
		m.DequeueCount++
		m.NextVisibleTime = now.Add(10 * time.Minute)
		m.PopReceipt = receipt{seq: m.Sequence, gen: 7, count: m.DequeueCount, reply: "$JS.ACK.bench_Q_app_work.worker.1.42.42.1764786456123456789.0"}.encode()
		body, err := decodeText(m.Text, Base64)
		if err != nil {
			t.Fatal(err)
		}
		m.Body = body
		_ = m.Metadata("drain", now)
		_ = m.HostTriggerData()
	}
	allocs := testing.AllocsPerRun(500, build)
	t.Logf("%.0f allocations per delivery", allocs)
	if allocs > ceiling {
		t.Fatalf("%.0f allocations per delivery, ceiling %d", allocs, ceiling)
	}
}
