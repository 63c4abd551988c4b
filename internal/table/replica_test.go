package table

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/broker"
)

// replicaEnv makes east_T_app_orders a mirror (in the same server) of a
// bucket holding three entities, one of them then deleted, with the
// subject transform a secondary's mirrors have: the data sits under this
// region's subjects, where a KV handle opened on the mirror does not look.
func replicaEnv(t *testing.T) *testEnv {
	t.Helper()
	env := newEnvClock(t, nil)
	env.svc.opts.ReadOnly = func() bool { return true }
	js := env.svc.opts.Broker.JetStream()
	origin, err := js.CreateKeyValue(env.ctx, jetstream.KeyValueConfig{Bucket: "origin"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rk := range []string{"1", "2", "3"} {
		data, err := env.svc.encodeStored(entity("p", rk, map[string]Value{"N": String("n" + rk)}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := origin.Put(env.ctx, entityKey("p", rk), data); err != nil {
			t.Fatal(err)
		}
	}
	if err := origin.Delete(env.ctx, entityKey("p", "2")); err != nil {
		t.Fatal(err)
	}
	name := env.svc.bucketName("app", "orders")
	_, err = js.CreateStream(env.ctx, jetstream.StreamConfig{Name: "KV_" + name, MaxMsgsPerSubject: 1, AllowDirect: true,
		Metadata: map[string]string{"tandem.mirror.domain": "west"},
		Mirror: &jetstream.StreamSource{Name: "KV_origin", SubjectTransforms: []jetstream.SubjectTransformConfig{
			{Source: "$KV.origin.>", Destination: "$KV." + name + ".>"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestReplicaReadsAndRefusesWrites: a mirrored table is read under the
// region's own subjects (deletes honoured) and never written; a table
// whose mirror is missing reads as not found and is not created.
func TestReplicaReadsAndRefusesWrites(t *testing.T) {
	env := replicaEnv(t)
	var rows []Entity
	waitFor(t, "the mirror's entities", func() bool {
		var err error
		rows, err = env.svc.Query(env.ctx, "app", "orders", "", 0)
		return err == nil && len(rows) == 2
	})
	if rows[0].RowKey != "1" || rows[1].RowKey != "3" || rows[1].Properties["N"].Str != "n3" {
		t.Fatalf("query of the replica: %+v", rows)
	}
	cases := []struct {
		name string
		err  error
		want error
		code int
	}{
		{"get", errOf(env.svc.Get(env.ctx, "app", "orders", "p", "1")), nil, 0},
		{"get a deleted entity", errOf(env.svc.Get(env.ctx, "app", "orders", "p", "2")), ErrNotFound, http.StatusNotFound},
		{"insert", errOf(env.svc.Insert(env.ctx, "app", "orders", entity("p", "4", nil))), ErrReadOnly, http.StatusServiceUnavailable},
		{"upsert", errOf(env.svc.Upsert(env.ctx, "app", "orders", entity("p", "1", nil), Replace)), ErrReadOnly, http.StatusServiceUnavailable},
		{"delete", env.svc.Delete(env.ctx, "app", "orders", "p", "1", "*"), ErrReadOnly, http.StatusServiceUnavailable},
		{"create a table", env.svc.CreateTable(env.ctx, "app", "other"), ErrReadOnly, http.StatusServiceUnavailable},
		{"get from a table whose mirror is missing", errOf(env.svc.Get(env.ctx, "app", "missing", "p", "1")), ErrNotFound, http.StatusNotFound},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) || (c.want != nil && asError(c.err).Status != c.code) {
			t.Errorf("%s: %v, want %v (%d)", c.name, c.err, c.want, c.code)
		}
	}
	if e := asError(env.svc.Delete(env.ctx, "app", "orders", "p", "1", "*")); e.RetryAfter == 0 {
		t.Errorf("a refused write without Retry-After: %+v", e)
	}
	for _, bucket := range []string{"KV_east_T_app_missing", "KV_east_TC", "KV_east_T_app_other"} {
		if _, err := env.svc.opts.Broker.JetStream().Stream(env.ctx, bucket); !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("the secondary created %s (%v)", bucket, err)
		}
	}
}

func errOf[T any](_ T, err error) error { return err }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

// TestReplicaHidesNewEntitiesOfAnIncompleteBatch: while the mirror holds
// only the head of an entity group transaction, the entities it created
// are not shown (by get or query); once its last message arrives they
// all are.
func TestReplicaHidesNewEntitiesOfAnIncompleteBatch(t *testing.T) {
	env := replicaEnv(t)
	waitFor(t, "the mirror's entities", func() bool {
		rows, err := env.svc.Query(env.ctx, "app", "orders", "", 0)
		return err == nil && len(rows) == 2
	})

	publish := func(rk string, i int, isNew bool) {
		data, _ := env.svc.encodeStored(entity("p", rk, nil))
		m := nats.NewMsg("$KV.origin." + entityKey("p", rk))
		m.Data = data
		m.Header.Set(broker.BatchHeader, broker.FormatBatch(broker.BatchMark{ID: "b1", I: i, N: 3, New: isNew}))
		if _, err := env.svc.js.PublishMsg(env.ctx, m); err != nil {
			t.Fatal(err)
		}

	}
	publish("a", 1, true)
	publish("1", 2, false) // overwrites entity 1: shown at once
	waitFor(t, "the overwrite of entity 1 in the mirror", func() bool {
		e, err := env.svc.Get(env.ctx, "app", "orders", "p", "1")
		return err == nil && len(e.Properties) == 0
	})
	if _, err := env.svc.Get(env.ctx, "app", "orders", "p", "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("entity a of an incomplete batch: %v, want not found", err)
	}
	if rows, _ := env.svc.Query(env.ctx, "app", "orders", "", 0); len(rows) != 2 {
		t.Fatalf("query shows %d entities while the batch is incomplete, want 2", len(rows))
	}
	publish("b", 3, true)
	waitFor(t, "the whole batch in the mirror", func() bool {
		rows, err := env.svc.Query(env.ctx, "app", "orders", "", 0)
		return err == nil && len(rows) == 4
	})
	if _, err := env.svc.Get(env.ctx, "app", "orders", "p", "a"); err != nil {
		t.Fatalf("entity a once the batch is whole: %v", err)
	}
}
