package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The server's JSClusterNotAvailErr and JSClusterNotLeaderErr, which
// nats.go has no names for: the cluster is between leaders.
const (
	errClusterNotAvailable jetstream.ErrorCode = 10008
	errClusterNotLeader    jetstream.ErrorCode = 10009
)

// Transient reports whether err is a replicated stream between leaders or
// a connection between nodes, rather than an answer: no responders (only
// a stream's leader subscribes to its subjects, and a just-created or
// just-orphaned stream has none until its raft group elects one, after 4
// to 9 s of silence when the old one died), no answer in time, the
// connection reconnecting, or "cluster not available". An operation that
// failed so may be sent again if doing it twice is harmless.
func Transient(err error) bool {
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrConnectionReconnecting):
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == errClusterNotAvailable || apiErr.ErrorCode == errClusterNotLeader)
}

// Attempt bounds one try of RetryTransient; TransientBound the whole when
// ctx has no deadline.
const (
	Attempt        = 2 * time.Second
	TransientBound = 30 * time.Second
)

// RetryTransient runs op (each try bounded by Attempt) until it succeeds,
// fails with an error that is not Transient, or ctx ends (TransientBound
// when ctx has no deadline). op must be safe to repeat.
func RetryTransient(ctx context.Context, what string, op func(context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, TransientBound)
		defer cancel()
	}
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, Attempt)
		err := op(actx)
		cancel()
		if err == nil || !Transient(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (after %d attempts, last: %w)", what, ctx.Err(), attempt, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
