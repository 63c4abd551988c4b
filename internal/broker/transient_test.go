package broker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestRetryTransient(t *testing.T) {
	refused := errors.New("wrong last sequence")
	for _, tc := range []struct {
		name    string
		errs    []error // what each try returns; nil after the list
		want    error
		retries int
	}{
		{"no responders while a leader is elected", []error{nats.ErrNoResponders, jetstream.ErrNoStreamResponse}, nil, 2},
		{"no answer in time", []error{fmt.Errorf("put: %w", context.DeadlineExceeded)}, nil, 1},
		{"cluster not available", []error{&jetstream.APIError{ErrorCode: errClusterNotAvailable}}, nil, 1},
		{"an answer is final", []error{refused}, refused, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tries := 0
			err := RetryTransient(context.Background(), "op", func(context.Context) error {
				tries++
				if tries <= len(tc.errs) {
					return tc.errs[tries-1]
				}
				return nil
			})
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if tries != tc.retries+1 {
				t.Fatalf("%d tries, want %d", tries, tc.retries+1)
			}
		})
	}
}

// TestRetryTransientEndsWithContext: a stream that never answers fails
// when the caller's context ends, naming the last error.
func TestRetryTransientEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := RetryTransient(ctx, "op", func(context.Context) error { return nats.ErrNoResponders })
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("err %v, want the deadline and the last error", err)
	}
}
