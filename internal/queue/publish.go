package queue

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// A publish is resent while the stream cannot answer: its leader died and
// the survivors are electing another (NATS raft waits 4 to 9 s of silence
// before it votes), or the connection is moving to another node (see
// broker.Transient). Every attempt carries the same Nats-Msg-Id, so a
// stream that stored an earlier attempt but whose acknowledgement was lost
// stores nothing the second time and acknowledges it as a duplicate:
// exactly once.

// publishAcked publishes msg to stream until the stream acknowledges it,
// ctx ends (broker.TransientBound without a deadline), or the stream turns
// out to be deleted.
func (s *Service) publishAcked(ctx context.Context, msg *nats.Msg, stream string) (*jetstream.PubAck, error) {
	var ack *jetstream.PubAck
	err := broker.RetryTransient(ctx, "publish", func(actx context.Context) error {
		var err error
		ack, err = s.js.PublishMsg(actx, msg, jetstream.WithExpectStream(stream), jetstream.WithRetryAttempts(0))
		if errors.Is(err, jetstream.ErrNoStreamResponse) && s.streamDeleted(ctx, stream) {
			return errStreamGone{err}
		}
		if err != nil && broker.Transient(err) {
			s.opts.Logger.Debug("queue publish: stream not answering; resending", "stream", stream, "err", err)
		}
		return err
	})
	var gone errStreamGone
	if errors.As(err, &gone) {
		return nil, gone.err
	}
	return ack, err
}

// errStreamGone is "no responders" from a stream that no longer exists:
// not transient.
type errStreamGone struct{ err error }

func (e errStreamGone) Error() string { return e.err.Error() }

// streamDeleted asks the JetStream API whether stream still exists; an
// answer other than "not found" (such as no answer during an election)
// counts as existing.
func (s *Service) streamDeleted(ctx context.Context, stream string) bool {
	actx, cancel := context.WithTimeout(ctx, broker.Attempt)
	defer cancel()
	_, err := s.js.Stream(actx, stream)
	return errors.Is(err, jetstream.ErrStreamNotFound)
}
