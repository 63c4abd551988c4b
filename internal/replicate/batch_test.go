package replicate

import (
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// TestTrimIncompleteBatch: a mirror whose copy of an atomic batch lacks
// the commit loses the whole batch at promotion (and reports the last
// sequence before it); a mirror holding whole batches is left alone.
func TestTrimIncompleteBatch(t *testing.T) {
	r := startRegion(t, "east", t.TempDir(), false)
	ctx := testCtx(t)
	js := r.b.JetStream()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "origin", Subjects: []string{"o.>"}, AllowAtomicPublish: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "copy", Mirror: &jetstream.StreamSource{Name: "origin"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "o.single", []byte("x")); err != nil {
		t.Fatal(err)
	}
	publishBatch(t, r.b.Conn(), "b1", 3)
	waitMsgs(t, js, "copy", 4)
	if last, n, _, err := trimIncompleteBatch(ctx, js, "copy", 4); err != nil || n != 0 || last != 4 {
		t.Fatalf("complete batch: last %d, dropped %d, %v; want it left alone", last, n, err)
	}
	st, _ := js.Stream(ctx, "copy")
	if err := st.DeleteMsg(ctx, 4); err != nil { // as if the commit never arrived
		t.Fatal(err)
	}
	last, n, _, err := trimIncompleteBatch(ctx, js, "copy", 4)
	if err != nil || n != 2 || last != 1 {
		t.Fatalf("incomplete batch: last %d, dropped %d, %v; want 1, 2", last, n, err)
	}
	info, _ := st.Info(ctx)
	if info.State.Msgs != 1 {
		t.Fatalf("the mirror holds %d messages after the trim, want the single write only", info.State.Msgs)
	}
	// A batch that overwrote live values is kept: deleting it would lose
	// them (the mirror no longer has the values before it).
	publishBatch(t, r.b.Conn(), "replacing", 2)
	waitMsgs(t, js, "copy", 3)
	if err := st.DeleteMsg(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if last, n, kept, err := trimIncompleteBatch(ctx, js, "copy", 6); err != nil || n != 0 || kept != 1 || last != 6 {
		t.Fatalf("incomplete replacing batch: last %d, dropped %d, kept %d, %v; want it kept", last, n, kept, err)
	}
}

func waitMsgs(t *testing.T, js jetstream.JetStream, name string, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := js.Stream(testCtx(t), name)
		if err == nil && st.CachedInfo().State.Msgs == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach %d messages", name, n)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

func publishBatch(t *testing.T, nc *nats.Conn, id string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		m := nats.NewMsg("o.k" + strconv.Itoa(i))
		m.Header.Set("Nats-Batch-Id", id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i))
		m.Header.Set(broker.BatchHeader, broker.FormatBatch(broker.BatchMark{ID: id, I: i, N: n, New: id != "replacing"}))
		if i < n {
			if err := nc.PublishMsg(m); err != nil {
				t.Fatal(err)
			}
			continue
		}
		m.Header.Set("Nats-Batch-Commit", "1")
		resp, err := nc.RequestMsg(m, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.Data) == "" || resp.Header.Get("Status") != "" {
			t.Fatalf("commit: %q %v", resp.Data, resp.Header)
		}
	}
}
