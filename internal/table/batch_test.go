package table

import (
	"errors"
	"testing"
)

func TestBatchAtomic(t *testing.T) {
	env := newEnv(t)
	env.mustCreate(t, "app", "orders")
	ctx := env.ctx
	a, err := env.svc.Insert(ctx, "app", "orders", entity("p", "a", map[string]Value{"N": Int32(1), "Keep": String("k")}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.svc.Insert(ctx, "app", "orders", entity("p", "b", nil)); err != nil {
		t.Fatal(err)
	}
	out, err := env.svc.Batch(ctx, "app", "orders", []BatchOp{
		{Kind: BatchUpdate, Mode: Merge, Entity: entity("p", "a", map[string]Value{"N": Int32(2)}), IfMatch: a.ETag},
		{Kind: BatchDelete, Entity: entity("p", "b", nil), IfMatch: "*"},
		{Kind: BatchInsert, Entity: entity("p", "c", map[string]Value{"N": Int32(3)})},
		{Kind: BatchUpsert, Mode: Replace, Entity: entity("p", "d", nil)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].ETag == a.ETag || out[2].ETag == "" || out[0].ETag == out[2].ETag {
		t.Fatalf("etags %v", out)
	}
	got, err := env.svc.Get(ctx, "app", "orders", "p", "a")
	if err != nil || got.Properties["N"].Int != 2 || got.Properties["Keep"].Str != "k" || got.ETag != out[0].ETag {
		t.Fatalf("merged entity %+v err %v", got, err)
	}
	if _, err := env.svc.Get(ctx, "app", "orders", "p", "b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted entity: %v", err)
	}
	// A failing operation (c exists) writes nothing, not even operation 0.
	_, err = env.svc.Batch(ctx, "app", "orders", []BatchOp{
		{Kind: BatchUpsert, Mode: Replace, Entity: entity("p", "a", map[string]Value{"N": Int32(9)})},
		{Kind: BatchInsert, Entity: entity("p", "c", nil)},
	})
	var be *BatchError
	if !errors.As(err, &be) || be.Index != 1 || asError(err).Code != "EntityAlreadyExists" {
		t.Fatalf("err = %v, want operation 1 EntityAlreadyExists", err)
	}
	if got, _ := env.svc.Get(ctx, "app", "orders", "p", "a"); got.Properties["N"].Int != 2 {
		t.Fatalf("operation 0 of a failed batch was applied: %+v", got)
	}
	// A stale ETag, a second partition, a duplicate row.
	cases := []struct {
		ops   []BatchOp
		index int
		code  string
	}{
		{[]BatchOp{{Kind: BatchUpsert, Entity: entity("p", "x", nil)}, {Kind: BatchUpdate, Entity: entity("p", "a", nil), IfMatch: a.ETag}}, 1, "UpdateConditionNotSatisfied"},
		{[]BatchOp{{Kind: BatchUpsert, Entity: entity("p", "x", nil)}, {Kind: BatchUpsert, Entity: entity("q", "x", nil)}}, 1, "CommandsInBatchActOnDifferentPartitions"},
		{[]BatchOp{{Kind: BatchUpsert, Entity: entity("p", "x", nil)}, {Kind: BatchDelete, Entity: entity("p", "x", nil), IfMatch: "*"}}, 1, "InvalidDuplicateRow"},
		{[]BatchOp{{Kind: BatchDelete, Entity: entity("p", "zz", nil), IfMatch: "*"}}, 0, "ResourceNotFound"},
	}
	for _, c := range cases {
		_, err := env.svc.Batch(ctx, "app", "orders", c.ops)
		if !errors.As(err, &be) || be.Index != c.index || asError(err).Code != c.code {
			t.Errorf("err = %v, want operation %d %s", err, c.index, c.code)
		}
	}
	if _, err := env.svc.Get(ctx, "app", "orders", "p", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("entity x of failed batches exists: %v", err)
	}
}

func TestBatchInsertOverDeletedKey(t *testing.T) {
	env := newEnv(t)
	env.mustCreate(t, "app", "orders")
	if _, err := env.svc.Insert(env.ctx, "app", "orders", entity("p", "a", nil)); err != nil {
		t.Fatal(err)
	}
	if err := env.svc.Delete(env.ctx, "app", "orders", "p", "a", "*"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.svc.Batch(env.ctx, "app", "orders", []BatchOp{{Kind: BatchInsert, Entity: entity("p", "a", nil)}}); err != nil {
		t.Fatal(err)
	}
}
