package drill

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Every drill run has its own id space, so that any number of drills in a
// row on one deployment each count only their own traffic: the work ids
// and entity keys it sends start with its run id ("<run>-w000001",
// "<run>-e000001"), it reads back only rows keyed with that prefix, and it
// judges the timer (which runs between drills too) only over the seconds
// of its own load.

// newRunID is a fresh run id: the UTC start time (for people reading the
// tables) and random hex (for two drills started in the same second).
func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405") + hex.EncodeToString(b)
}

// validRunID allows what a route parameter and a table RowKey both take.
func validRunID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("drill run id %q: must be 1-64 characters", id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("drill run id %q: use letters and digits only", id)
		}
	}
	return nil
}

// ownKeys is a table filter for the RowKeys of this run: "<run>-...".
// Deliveries are keyed "<work id>.<nonce>", blob trigger runs
// "<blob id>.<invocation id>" and entities by their id, so all start
// with the run id and a dash ('.' is the character after '-').
func ownKeys(run string) string {
	return fmt.Sprintf("RowKey ge '%s-' and RowKey lt '%s.'", run, run)
}

// ownJob reports whether a work (or blob) id belongs to this run.
func ownJob(run, job string) bool { return strings.HasPrefix(job, run+"-") }

// tickKeys is a table filter for the ticks of the seconds [from, to):
// ticks are keyed "<second>.<nonce>" with seconds as 20060102T150405Z.
func tickKeys(from, to time.Time) string {
	return fmt.Sprintf("RowKey ge '%s' and RowKey lt '%s'", tickSecond(from), tickSecond(to))
}

func tickSecond(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// ownEntities reads the rows of table that this run wrote.
func (r *run) ownEntities(ctx context.Context, region, table string) ([]map[string]any, error) {
	return r.d.entitiesWhere(ctx, region, table, ownKeys(r.opts.RunID))
}
