package table

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// step is one operation in a semantics scenario, with the outcome expected.
type step struct {
	op      string // insert, upsert, update, delete, get
	mode    UpdateMode
	props   map[string]Value
	ifMatch string // "stale" uses the ETag before the previous write, "fresh" the latest
	want    error  // sentinel, nil for success
	code    string // Azure error code when want != nil
	after   map[string]Value
}

func TestEntitySemantics(t *testing.T) {
	a := map[string]Value{"A": Int32(1), "B": String("b")}
	c := map[string]Value{"C": Bool(true)}
	ac := map[string]Value{"A": Int32(1), "B": String("b"), "C": Bool(true)}
	scenarios := []struct {
		name  string
		steps []step
	}{
		{"insert then insert conflicts", []step{
			{op: "insert", props: a, after: a},
			{op: "insert", props: c, want: ErrConflict, code: "EntityAlreadyExists", after: a},
		}},
		{"upsert replace drops old properties", []step{
			{op: "upsert", mode: Replace, props: a, after: a},
			{op: "upsert", mode: Replace, props: c, after: c},
		}},
		{"upsert merge keeps old properties", []step{
			{op: "upsert", mode: Merge, props: a, after: a},
			{op: "upsert", mode: Merge, props: c, after: ac},
		}},
		{"update missing entity", []step{
			{op: "update", mode: Replace, props: a, ifMatch: "*", want: ErrNotFound, code: "ResourceNotFound"},
			{op: "update", mode: Merge, props: a, ifMatch: "*", want: ErrNotFound, code: "ResourceNotFound"},
		}},
		{"update with fresh ETag, then stale ETag", []step{
			{op: "insert", props: a, after: a},
			{op: "update", mode: Merge, props: c, ifMatch: "fresh", after: ac},
			{op: "update", mode: Replace, props: c, ifMatch: "stale", want: ErrPrecondition, code: "UpdateConditionNotSatisfied", after: ac},
			{op: "update", mode: Replace, props: c, ifMatch: "*", after: c},
		}},
		{"update with a malformed ETag", []step{
			{op: "insert", props: a, after: a},
			{op: "update", mode: Replace, props: c, ifMatch: `"nonsense"`, want: ErrPrecondition, code: "UpdateConditionNotSatisfied", after: a},
		}},
		{"delete with stale then fresh ETag", []step{
			{op: "insert", props: a},
			{op: "update", mode: Replace, props: c, ifMatch: "*"},
			{op: "delete", ifMatch: "stale", want: ErrPrecondition, code: "UpdateConditionNotSatisfied", after: c},
			{op: "delete", ifMatch: "fresh"},
			{op: "get", want: ErrNotFound, code: "ResourceNotFound"},
			{op: "delete", ifMatch: "*", want: ErrNotFound, code: "ResourceNotFound"},
		}},
		{"insert after delete", []step{
			{op: "insert", props: a},
			{op: "delete", ifMatch: "*"},
			{op: "insert", props: c, after: c},
		}},
	}
	env := newEnv(t)
	env.mustCreate(t, "app1", "Semantics")
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			runScenario(t, env, string(rune('a'+i)), sc.steps)
		})
	}
}

func runScenario(t *testing.T, env *testEnv, pk string, steps []step) {
	var etags []string
	for i, st := range steps {
		env.clock.Advance(time.Second)
		etag, err := applyStep(env, pk, st, etags)
		if !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
			t.Fatalf("step %d (%s): err = %v, want %v", i, st.op, err, st.want)
		}
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Code != st.code {
				t.Fatalf("step %d (%s): code of %v, want %s", i, st.op, err, st.code)
			}
		}
		if etag != "" {
			etags = append(etags, etag)
		}
		if st.after != nil {
			checkStored(t, env, pk, st.after, i)
		}
	}
}

func applyStep(env *testEnv, pk string, st step, etags []string) (string, error) {
	s, ctx := env.svc, env.ctx
	e := entity(pk, "row", st.props)
	ifMatch := st.ifMatch
	switch ifMatch {
	case "fresh":
		ifMatch = etags[len(etags)-1]
	case "stale":
		ifMatch = etags[len(etags)-2]
	}
	var out Entity
	var err error
	switch st.op {
	case "insert":
		out, err = s.Insert(ctx, "app1", "Semantics", e)
	case "upsert":
		out, err = s.Upsert(ctx, "app1", "Semantics", e, st.mode)
	case "update":
		out, err = s.Update(ctx, "app1", "Semantics", e, st.mode, ifMatch)
	case "delete":
		err = s.Delete(ctx, "app1", "Semantics", pk, "row", ifMatch)
	case "get":
		out, err = s.Get(ctx, "app1", "Semantics", pk, "row")
	}
	return out.ETag, err
}

func checkStored(t *testing.T, env *testEnv, pk string, want map[string]Value, step int) {
	t.Helper()
	got, err := env.svc.Get(env.ctx, "app1", "Semantics", pk, "row")
	if err != nil {
		t.Fatalf("step %d: get: %v", step, err)
	}
	assertSameEntity(t, Entity{PartitionKey: pk, RowKey: "row", Timestamp: got.Timestamp, Properties: want}, got)
}

func TestWritesStampTimestampAndETag(t *testing.T) {
	env := newEnv(t)
	env.mustCreate(t, "app1", "Stamps")
	first, err := env.svc.Insert(env.ctx, "app1", "Stamps", entity("p", "r", nil))
	if err != nil {
		t.Fatal(err)
	}
	if !first.Timestamp.Equal(testStart.Truncate(100 * time.Nanosecond)) {
		t.Fatalf("Timestamp %v, want the clock's time at 100 ns precision", first.Timestamp)
	}
	env.clock.Advance(time.Minute)
	second, err := env.svc.Upsert(env.ctx, "app1", "Stamps", entity("p", "r", nil), Merge)
	if err != nil {
		t.Fatal(err)
	}
	got, err := env.svc.Get(env.ctx, "app1", "Stamps", "p", "r")
	if err != nil {
		t.Fatal(err)
	}
	if got.ETag != second.ETag || got.ETag == first.ETag || !got.Timestamp.Equal(second.Timestamp) {
		t.Fatalf("after update: ETag %s (first %s, second %s), Timestamp %v", got.ETag, first.ETag, second.ETag, got.Timestamp)
	}
	if got.Timestamp.Sub(first.Timestamp) != time.Minute {
		t.Fatalf("Timestamp moved %v, want 1m", got.Timestamp.Sub(first.Timestamp))
	}
}

func TestEntityOpsOnMissingTable(t *testing.T) {
	env := newEnv(t)
	_, err := env.svc.Insert(env.ctx, "app1", "Nowhere", entity("p", "r", nil))
	var te *Error
	if !errors.As(err, &te) || te.Code != "TableNotFound" || !errors.Is(err, ErrNotFound) {
		t.Fatalf("insert into a missing table: %v", err)
	}
	_, err = env.svc.Get(env.ctx, "app1", "Nowhere", "p", "r")
	if !errors.As(err, &te) || te.Code != "TableNotFound" {
		t.Fatalf("get from a missing table: %v", err)
	}
}

func TestTablesAreCaseInsensitiveAndPerApp(t *testing.T) {
	env := newEnv(t)
	env.mustCreate(t, "app1", "Orders")
	if err := env.svc.CreateTable(env.ctx, "app1", "ORDERS"); !errors.Is(err, ErrConflict) {
		t.Fatalf("creating ORDERS next to Orders: %v, want ErrConflict", err)
	}
	env.mustCreate(t, "app2", "orders")
	if _, err := env.svc.Insert(env.ctx, "app1", "oRdErS", entity("p", "r", nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.svc.Get(env.ctx, "app2", "orders", "p", "r"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("app2 sees app1's entity: %v", err)
	}
	env.mustCreate(t, "app1", "Alpha")
	names, err := env.svc.ListTables(env.ctx, "app1")
	if err != nil || len(names) != 2 || names[0] != "Alpha" || names[1] != "Orders" {
		t.Fatalf("ListTables = %v, %v; want [Alpha Orders]", names, err)
	}
	if err := env.svc.DeleteTable(env.ctx, "app1", "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.svc.Get(env.ctx, "app1", "Orders", "p", "r"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("entity survived its table: %v", err)
	}
	if err := env.svc.DeleteTable(env.ctx, "app1", "orders"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	env.mustCreate(t, "app1", "Orders")
	if _, err := env.svc.Get(env.ctx, "app1", "Orders", "p", "r"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("recreated table has old entity: %v", err)
	}
}

func TestEntityTooLarge(t *testing.T) {
	env := newEnv(t)
	env.mustCreate(t, "app1", "Big")
	props := map[string]Value{}
	for i := range 20 {
		props["P"+string(rune('a'+i))] = Binary(make([]byte, 60*1024))
	}
	_, err := env.svc.Insert(env.ctx, "app1", "Big", entity("p", "r", props))
	var te *Error
	if !errors.As(err, &te) || te.Code != "EntityTooLarge" {
		t.Fatalf("1.2 MiB entity: %v, want EntityTooLarge", err)
	}
}

// Concurrent merges into one entity all land (the CAS loop retries), and of
// concurrent inserts of one key exactly one wins.
func TestConcurrentWriters(t *testing.T) {
	env := newEnv(t)
	env.mustCreate(t, "app1", "Busy")
	const writers = 8
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			props := map[string]Value{fmt.Sprintf("W%d", i): Int32(int32(i))}
			_, err := env.svc.Upsert(env.ctx, "app1", "Busy", entity("p", "merged", props), Merge)
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err := env.svc.Get(env.ctx, "app1", "Busy", "p", "merged")
	if err != nil || len(got.Properties) != writers {
		t.Fatalf("after %d concurrent merges: %d properties %v, %v", writers, len(got.Properties), got.Properties, err)
	}
	wins := make(chan error, writers)
	for range writers {
		go func() {
			_, err := env.svc.Insert(env.ctx, "app1", "Busy", entity("p", "once", nil))
			wins <- err
		}()
	}
	ok, conflicts := 0, 0
	for range writers {
		switch err := <-wins; {
		case err == nil:
			ok++
		case errors.Is(err, ErrConflict):
			conflicts++
		default:
			t.Fatal(err)
		}
	}
	if ok != 1 || conflicts != writers-1 {
		t.Fatalf("%d inserts won and %d conflicted; want 1 and %d", ok, conflicts, writers-1)
	}
}
