package table

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
)

// testEnv is a Service over a real embedded JetStream.
type testEnv struct {
	svc   *Service
	clock *clock.Fake
	ctx   context.Context
}

var testStart = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	return newEnvClock(t, clock.NewFake(testStart))
}

func newEnvClock(t *testing.T, c *clock.Fake) *testEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := broker.Start(ctx, broker.Options{Region: "east", Dir: t.TempDir(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	opts := Options{Broker: b, Logger: logger}
	if c != nil {
		opts.Clock = c
	}
	svc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{svc: svc, clock: c, ctx: ctx}
}

func (env *testEnv) mustCreate(t *testing.T, app, table string) {
	t.Helper()
	if err := env.svc.CreateTable(env.ctx, app, table); err != nil {
		t.Fatal(err)
	}
}

func entity(pk, rk string, props map[string]Value) Entity {
	return Entity{PartitionKey: pk, RowKey: rk, Properties: props}
}
