package region

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/blob"
	"github.com/tandemhq/tandem/internal/blobtrigger"
	"github.com/tandemhq/tandem/internal/funcapp"
	"github.com/tandemhq/tandem/internal/hostjson"
	"github.com/tandemhq/tandem/internal/invoke"
	"github.com/tandemhq/tandem/internal/queue"
	"github.com/tandemhq/tandem/internal/replicate"
)

// Blob triggers run where queue triggers run (the active primary: started
// and stopped with the queue listeners by setQueueTriggers), one
// blobtrigger.Listener per function; receipts live in the region's
// <region>_blobreceipts bucket, mirrored and promoted like the others
// (replicate.KindReceipts). See internal/blobtrigger/DESIGN.md.

// processNode names this process in blob trigger claims.
var processNode = invoke.NewGUID()

// startBlobListeners starts a listener per enabled blob-triggered
// function. rt.mu must be held.
func (r *Region) startBlobListeners(ctx context.Context, rt *appRuntime) error {
	var receipts jetstream.KeyValue
	for _, fn := range rt.app.Functions {
		trig := fn.Trigger()
		if trig.Kind() != funcapp.BlobTrigger || fn.Disabled || r.svc.disabled(rt.app.Name, fn.Name) {
			continue
		}
		pat, err := blobtrigger.ParsePattern(trig.Path)
		if err != nil {
			return fmt.Errorf("%s/function.json: binding %q: field \"path\": %w", fn.Name, trig.Name, err)
		}
		if receipts == nil {
			if receipts, err = blobtrigger.OpenReceipts(ctx, r.broker.JetStream(), replicate.ReceiptBucket(r.opts.Name), r.broker.Replicas()); err != nil {
				return fmt.Errorf("blob triggers: %w", err)
			}
		}
		cfg := queueConfig(rt.app.Host.Queues)
		l := blobtrigger.Start(blobtrigger.Options{App: rt.app.Name, Function: fn.Name, Pattern: pat, Blobs: r.svc.blobs,
			Conn: r.broker.Conn(), Receipts: receipts, Region: r.opts.Name, Node: processNode,
			MaxDequeueCount: cfg.MaxDequeueCount, VisibilityTimeout: cfg.VisibilityTimeout, Lease: claimLease(rt.app),
			Concurrency: cfg.BatchSize, Invoke: r.blobHandler(rt.inv, fn), Poison: r.blobPoison(rt.app.Name),
			Stored: func(ctx context.Context, rev uint64) error { return r.repl.waitReceipt(ctx, rt.app.Name, rev) },
			Logger: r.log})
		rt.listeners = append(rt.listeners, l)
	}
	return nil
}

// claimLease is how long another node of the region trusts a running
// claim: the function's timeout and a minute (the host's client timeout),
// five minutes without one.
func claimLease(app *funcapp.App) time.Duration {
	if d := app.Host.FunctionTimeout; d > 0 {
		return d + time.Minute
	}
	return 5 * time.Minute
}

// blobHandler invokes fn for a blob version. Data is the blob's bytes as
// base64 whatever the dataType (the host binds a blob trigger to byte[],
// TriggerAdapterBindingProvider's first default type, and sends byte[] as
// base64); Metadata is blobtrigger.Metadata.
func (r *Region) blobHandler(inv *invoke.Invoker, fn *funcapp.Function) func(context.Context, blobtrigger.Fire) error {
	app := inv.App().Name
	return func(ctx context.Context, f blobtrigger.Fire) error {
		uri := r.blobURI(app, f.Version.Container, f.Version.Name)
		t := invoke.Trigger{
			Value:       hostjson.Bytes(f.Content),
			Metadata:    blobtrigger.Metadata(fn.Name, time.Now(), uri, f.Blob, f.Values),
			Expressions: blobtrigger.Expressions(f.Version.Container+"/"+f.Version.Name, uri, f.Values),
		}
		_, err := inv.Invoke(ctx, fn, t)
		var ie *invoke.Error
		if errors.As(err, &ie) && ie.NotRun && ie.Status == http.StatusServiceUnavailable {
			return fmt.Errorf("%w: %w", blobtrigger.ErrNotRun, err) // writes refused: not primary any more
		}
		return err
	}
}

// blobPoison enqueues a poison blob message (the app's own queue
// webjobs-blobtrigger-poison), deduplicated by the receipt key.
func (r *Region) blobPoison(app string) func(context.Context, json.RawMessage, string) error {
	return func(ctx context.Context, msg json.RawMessage, seed string) error {
		msgs, err := r.svc.queues.EnqueueOutput(ctx, app, blobtrigger.PoisonQueue, msg, queue.WithIDSeed(seed))
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := r.repl.waitQueue(ctx, app, blobtrigger.PoisonQueue, m.Sequence); err != nil {
				return err
			}
		}
		return nil
	}
}

// blobURI is the blob's address as the app's connection string names it.
func (r *Region) blobURI(app, container, name string) string {
	base := r.opts.PublicURL
	if base == "" {
		base = r.URL()
	}
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.TrimRight(base, "/") + blob.DefaultPathPrefix + "/" + app + "/" + container + "/" + strings.Join(segs, "/")
}
