package blobtrigger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Receipt states.
const (
	Running  = "running"  // claimed: an attempt is (or was) in progress
	Failed   = "failed"   // the last attempt failed; Attempts so far
	Done     = "done"     // the function completed for this version
	Poisoned = "poisoned" // moved to webjobs-blobtrigger-poison
	Skipped  = "skipped"  // the version was gone or replaced when its turn came
)

// Receipt is the record kept per (function, blob version), the
// counterpart of the host's azure-webjobs-hosts/blobreceipts/... blob.
type Receipt struct {
	State    string    `json:"state"`
	Attempts int       `json:"attempts"`
	Region   string    `json:"region"`
	Node     string    `json:"node"`
	Until    time.Time `json:"until,omitzero"` // a running claim's lease
	At       time.Time `json:"at"`
	Blob     string    `json:"blob"` // container/name, for people reading the bucket
	ETag     string    `json:"etag"`
}

// final reports a state after which the version never fires again.
func (r Receipt) final() bool { return r.State == Done || r.State == Poisoned || r.State == Skipped }

// Key is a receipt's key in the region's receipts bucket:
// <app>.<function>.<sha256(container/name), 40 hex>.<etag without quotes>.
// A KV key cannot hold every blob name, so the name is hashed; the record
// carries it in full.
func Key(app, function, container, name, etag string) string {
	sum := sha256.Sum256([]byte(container + "/" + name))
	return app + "." + function + "." + hex.EncodeToString(sum[:20]) + "." + etagToken(etag)
}

func etagToken(etag string) string {
	var b strings.Builder
	for _, c := range etag {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// receipts reads and writes receipts with compare-and-set.
type receipts struct{ kv jetstream.KeyValue }

// get returns the receipt and its revision (0 when there is none).
func (r receipts) get(ctx context.Context, key string) (Receipt, uint64, error) {
	e, err := r.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Receipt{}, 0, nil
	}
	if err != nil {
		return Receipt{}, 0, fmt.Errorf("read blob receipt %s: %w", key, err)
	}
	var rc Receipt
	if err := json.Unmarshal(e.Value(), &rc); err != nil {
		return Receipt{}, 0, fmt.Errorf("blob receipt %s: %w", key, err)
	}
	return rc, e.Revision(), nil
}

// put writes rc if the receipt is still at rev (0: absent) and returns the
// new revision; errRaced when another writer got there first.
func (r receipts) put(ctx context.Context, key string, rc Receipt, rev uint64) (uint64, error) {
	b, err := json.Marshal(rc)
	if err != nil {
		return 0, err
	}
	var n uint64
	if rev == 0 {
		n, err = r.kv.Create(ctx, key, b)
	} else {
		n, err = r.kv.Update(ctx, key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
		return 0, errRaced
	}
	if err != nil {
		return 0, fmt.Errorf("write blob receipt %s (%s): %w", key, rc.State, err)
	}
	return n, nil
}

var errRaced = errors.New("blob receipt changed meanwhile")

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// OpenReceipts opens the region's receipts bucket, creating it (file
// storage, one value per key) when it does not exist. Only the active
// primary calls it: in a secondary the bucket is a mirror.
func OpenReceipts(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, History: 1, Storage: jetstream.FileStorage, Replicas: replicas,
			Description: "blob trigger receipts (internal/blobtrigger)"})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open blob receipts bucket %s: %w", bucket, err)
	}
	return kv, nil
}
