package table

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// seedGrid inserts partitions p0..p2 with rows r0..r4 (in scrambled order);
// N is the row number, Even whether it is even.
func seedGrid(t *testing.T, env *testEnv, table string) {
	t.Helper()
	env.mustCreate(t, "app1", table)
	for _, i := range []int{7, 0, 14, 3, 11, 5, 9, 1, 13, 2, 8, 6, 12, 4, 10} {
		e := entity(fmt.Sprintf("p%d", i/5), fmt.Sprintf("r%d", i%5), map[string]Value{
			"N": Int32(int32(i)), "Even": Bool(i%2 == 0),
		})
		if _, err := env.svc.Insert(env.ctx, "app1", table, e); err != nil {
			t.Fatal(err)
		}
	}
}

func keysOf(es []Entity) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.PartitionKey+"/"+e.RowKey)
	}
	return out
}

func TestQueryPagesAcrossContinuationTokens(t *testing.T) {
	env := newEnv(t)
	seedGrid(t, env, "Grid")
	cases := []struct {
		filter string
		top    int
		want   []string
	}{
		{"", 4, []string{"p0/r0", "p0/r1", "p0/r2", "p0/r3", "p0/r4", "p1/r0", "p1/r1", "p1/r2", "p1/r3", "p1/r4", "p2/r0", "p2/r1", "p2/r2", "p2/r3", "p2/r4"}},
		{"Even", 3, []string{"p0/r0", "p0/r2", "p0/r4", "p1/r1", "p1/r3", "p2/r0", "p2/r2", "p2/r4"}},
		{"PartitionKey eq 'p1'", 2, []string{"p1/r0", "p1/r1", "p1/r2", "p1/r3", "p1/r4"}},
		{"PartitionKey eq 'p1' and RowKey eq 'r3'", 1, []string{"p1/r3"}},
		{"PartitionKey eq 'p1' and RowKey eq 'nope'", 1, nil},
		{"N ge 12 or N lt 2", 1, []string{"p0/r0", "p0/r1", "p2/r2", "p2/r3", "p2/r4"}},
		{"PartitionKey gt 'p0' and RowKey le 'r1'", 2, []string{"p1/r0", "p1/r1", "p2/r0", "p2/r1"}},
		{"N eq 99", 5, nil},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/top%d", c.filter, c.top), func(t *testing.T) {
			var got []string
			q := QueryOptions{Filter: c.filter, Top: c.top}
			for pages := 0; ; pages++ {
				p, err := env.svc.QueryPage(env.ctx, "app1", "Grid", q)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Entities) > c.top || pages > len(c.want) {
					t.Fatalf("page %d has %d entities (top %d)", pages, len(p.Entities), c.top)
				}
				got = append(got, keysOf(p.Entities)...)
				if p.NextPartitionKey == "" {
					break
				}
				q.NextPartitionKey, q.NextRowKey = p.NextPartitionKey, p.NextRowKey
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestQueryTake(t *testing.T) {
	env := newEnv(t)
	seedGrid(t, env, "Grid")
	all, err := env.svc.Query(env.ctx, "app1", "Grid", "", 0)
	if err != nil || len(all) != 15 {
		t.Fatalf("Query all = %d entities, %v", len(all), err)
	}
	some, err := env.svc.Query(env.ctx, "app1", "Grid", BindingFilter("p2", "Even"), 2)
	if err != nil || !slices.Equal(keysOf(some), []string{"p2/r0", "p2/r2"}) {
		t.Fatalf("Query take 2 = %v, %v", keysOf(some), err)
	}
	for _, e := range all {
		if e.ETag == "" || e.Timestamp.IsZero() {
			t.Fatalf("query result %s/%s lacks ETag or Timestamp", e.PartitionKey, e.RowKey)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	env := newEnv(t)
	seedGrid(t, env, "Grid")
	for _, q := range []QueryOptions{
		{Filter: "N eq"},
		{Top: -1},
		{NextPartitionKey: "not-a-token", NextRowKey: "kcjE"},
	} {
		if _, err := env.svc.QueryPage(env.ctx, "app1", "Grid", q); !errors.Is(err, ErrInvalid) {
			t.Errorf("QueryPage(%+v) err = %v, want ErrInvalid", q, err)
		}
	}
	if _, err := env.svc.QueryPage(env.ctx, "app1", "Missing", QueryOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("query on a missing table: %v", err)
	}
}

func TestQueryTopCapsAtThousand(t *testing.T) {
	if n, err := pageSize(5000); n != MaxPageSize || err != nil {
		t.Fatalf("pageSize(5000) = %d, %v", n, err)
	}
	if n, err := pageSize(0); n != MaxPageSize || err != nil {
		t.Fatalf("pageSize(0) = %d, %v", n, err)
	}
}

func TestQuerySelectProjects(t *testing.T) {
	env := newEnv(t)
	seedGrid(t, env, "Grid")
	p, err := env.svc.QueryPage(env.ctx, "app1", "Grid", QueryOptions{Filter: "N eq 3", Select: []string{"Even", "Nope"}})
	if err != nil || len(p.Entities) != 1 {
		t.Fatalf("%v, %v", p, err)
	}
	e := p.Entities[0]
	if len(e.Properties) != 1 || !e.Properties["Even"].Equal(Bool(false)) || e.PartitionKey != "p0" || e.RowKey != "r3" {
		t.Fatalf("projected entity %+v", e)
	}
	got := string(appendEntity(nil, e, encodeOptions{selected: mustSelection(t, "Even", "Nope"), noMetadata: true}))
	if got != `{"Even":false,"Nope":null}` {
		t.Fatalf("selected JSON %s", got)
	}
}
