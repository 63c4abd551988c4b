package blobtrigger

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/blob"
	"github.com/tandemhq/tandem/internal/broker"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestRefusedRunIsNotAnAttempt: a run refused before the handler ran (the
// region stopped being the active primary while the listener drains) is
// given back, not counted, not retried, and never poisons the version;
// before, the listener retried it up to maxDequeueCount while stopping and
// then waited on the poison queue, holding the region's step-down.
func TestRefusedRunIsNotAnAttempt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := broker.Start(ctx, broker.Options{Region: "east", Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	blobs, err := blob.New(blob.Options{Broker: b, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.CreateContainer(ctx, "app", "docs", nil); err != nil {
		t.Fatal(err)
	}
	put, err := blobs.WriteAll(ctx, "app", "docs", "a.txt", []byte("x"), "")
	if err != nil {
		t.Fatal(err)
	}
	kv, err := OpenReceipts(ctx, b.JetStream(), "east_blobreceipts", 1)
	if err != nil {
		t.Fatal(err)
	}
	pat, err := ParsePattern("docs/{name}")
	if err != nil {
		t.Fatal(err)
	}
	var runs, poisoned atomic.Int32
	l := Start(Options{App: "app", Function: "f", Pattern: pat, Blobs: blobs, Conn: b.Conn(), Receipts: kv,
		Region: "east", Node: "n1", MaxDequeueCount: 2, Logger: quiet,
		Invoke: func(context.Context, Fire) error {
			runs.Add(1)
			return errors.Join(ErrNotRun, errors.New("writes are refused: not the active primary"))
		},
		Poison: func(context.Context, json.RawMessage, string) error { poisoned.Add(1); return nil },
	})
	key := Key("app", "f", "docs", "a.txt", put.ETag)
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		rc, _, err := receipts{kv}.get(ctx, key)
		if err == nil && rc.State == Failed && rc.Attempts == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipt %+v (%v): want the claim given back (failed, 0 attempts)", rc, err)
		}
		<-tick.C
	}
	if err := l.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n, p := runs.Load(), poisoned.Load(); n != 1 || p != 0 {
		t.Fatalf("%d runs and %d poison messages, want 1 run and none", n, p)
	}
}
