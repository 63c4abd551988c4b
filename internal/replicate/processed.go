package replicate

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// Processed is what a queue's progress record says the primary processed:
// every sequence up to Floor, and every one inside an Acked range.
type Processed struct {
	Floor uint64
	Acked [][2]uint64 // sorted, disjoint, above Floor+1
}

// ReadProcessed reads app's queue's progress record from this region's
// progress bucket at stream level, so it works on the mirror a secondary
// holds (a KV handle on a mirror reads under the origin's subjects and
// finds nothing). A queue with no record yet has processed nothing.
func ReadProcessed(ctx context.Context, b *broker.Broker, app, queue string) (Processed, error) {
	name := ProgressBucket(b.Region())
	st, err := b.JetStream().Stream(ctx, "KV_"+name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return Processed{}, nil
	}
	if err != nil {
		return Processed{}, fmt.Errorf("read progress of %s/%s: %w", app, queue, err)
	}
	msg, err := st.GetLastMsgForSubject(ctx, "$KV."+name+"."+progressKey(app, queue))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Processed{}, nil
	}
	if err != nil {
		return Processed{}, fmt.Errorf("read progress of %s/%s: %w", app, queue, err)
	}
	if op := msg.Header.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
		return Processed{}, nil
	}
	r, err := decodeRecord(msg.Data)
	if err != nil {
		return Processed{}, fmt.Errorf("read progress of %s/%s: %w", app, queue, err)
	}
	return Processed{Floor: r.Floor, Acked: r.Acked}, nil
}
