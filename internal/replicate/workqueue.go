package replicate

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Mirrors of work queues, as nats-server (v2.15.2, standalone) runs them.
//
// A mirror's consumer on its origin is named JS_MIRROR_<hash of the
// mirror's name, account and domain>: the same name for every incarnation
// of the mirror (after a restart, or rebuilt on an empty disk). On a
// work-queue (or interest) origin the server turns it into a durable
// consumer with AckPolicy flow-control and no inactive threshold: it is
// never removed unless deleted, and its acks (the mirror's flow-control
// replies) count as interest. Two consequences:
//
//   - A message of a work queue is removed once no consumer needs it. With
//     the queue's worker consumer present, the worker holds every message
//     it has not acknowledged; without it, the mirror's ack alone removes a
//     pending message from the primary's queue. Every work queue of a
//     primary must therefore have its worker (holdWorkQueue).
//   - A new incarnation of the mirror updates the existing consumer; on a
//     work queue with a worker, the server refuses that update with
//     "filtered consumer not unique on workqueue stream" (10100) for as
//     long as the consumer lives (forever), and a mirror created afresh
//     would resume at the old consumer's ack floor, missing what the old
//     incarnation had. The standby deletes its stale consumer on the
//     origin before it creates a mirror, and when its mirror reports 10100
//     (dropMirrorConsumer); the server's next retry then creates it anew.

// workerConsumer is the queue service's consumer (queue.consumerName):
// created beforehand on a promoted or rescued work queue, the queue
// service updates it when it declares the queue.
const workerConsumer = "worker"

// errCodeWQNotUnique is JetStream's "filtered consumer not unique on
// workqueue stream".
const errCodeWQNotUnique = 10100

// holdWorkQueue makes sure the work-queue stream name has the queue's
// worker consumer, which keeps every message it has not acknowledged:
// without it, the acks of a standby's mirror consumer remove pending
// messages. Streams with another retention are left alone.
func holdWorkQueue(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	if cfg.Retention != jetstream.WorkQueuePolicy {
		return nil
	}
	_, err := js.CreateConsumer(ctx, cfg.Name, jetstream.ConsumerConfig{
		Durable:       workerConsumer,
		Description:   "queue trigger listeners",
		AckPolicy:     jetstream.AckExplicitPolicy,
		MaxDeliver:    -1,
		MaxAckPending: 10000,
	})
	if err != nil && !errors.Is(err, jetstream.ErrConsumerExists) {
		return fmt.Errorf("worker consumer of %s: %w", cfg.Name, err)
	}
	return nil
}

// dropMirrorConsumer deletes, on the origin stream (through remote, the
// origin region's JetStream), the consumer that local's mirror named
// mirror reads it with, if the server made it durable (see above) and no
// mirror is subscribed to it (a live one). It reports whether it deleted
// one.
func dropMirrorConsumer(ctx context.Context, remote jetstream.JetStream, origin jetstream.StreamConfig, mirror, local string) (bool, error) {
	if origin.Retention == jetstream.LimitsPolicy {
		return false, nil // the server gives limits origins ephemeral consumers
	}
	st, err := remote.Stream(ctx, origin.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stale mirror consumer of %s on %s: %w", mirror, origin.Name, err)
	}
	var names []string
	l := st.ListConsumers(ctx)
	for c := range l.Info() {
		md := c.Config.Metadata
		// A consumer a mirror is subscribed to is live, not stale.
		if md["_nats.mirror.stream"] == mirror && md["_nats.mirror.domain"] == local && !c.PushBound {
			names = append(names, c.Name)
		}
	}
	if err := l.Err(); err != nil {
		return false, fmt.Errorf("stale mirror consumer of %s on %s: %w", mirror, origin.Name, err)
	}
	for _, n := range names {
		if err := st.DeleteConsumer(ctx, n); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return false, fmt.Errorf("delete stale mirror consumer %s on %s: %w", n, origin.Name, err)
		}
	}
	return len(names) > 0, nil
}

// notUnique: a mirror's consumer setup was refused with 10100.
func notUnique(si *jetstream.StreamSourceInfo) bool {
	return si != nil && si.Error != nil && si.Error.ErrorCode == errCodeWQNotUnique
}
