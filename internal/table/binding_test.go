package table

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeBindingEntities(t *testing.T) {
	cases := []struct {
		name, json, pk, rk string
		want               []Entity
		wantErr            string
	}{
		{name: "object with keys", json: `{"PartitionKey":"p","RowKey":"r","Name":"n","Age":3}`,
			want: []Entity{entity("p", "r", map[string]Value{"Name": String("n"), "Age": Int32(3)})}},
		{name: "camel-case keys override the binding", json: `{"partitionKey":"p","rowkey":"r"}`, pk: "bp", rk: "br",
			want: []Entity{entity("p", "r", nil)}},
		{name: "binding keys fill in", json: `{"Text":"hi"}`, pk: "bp", rk: "br",
			want: []Entity{entity("bp", "br", map[string]Value{"Text": String("hi")})}},
		{name: "array", json: ` [{"PartitionKey":"p","RowKey":"1"},{"PartitionKey":"p","RowKey":"2","F":1.5}]`,
			want: []Entity{entity("p", "1", nil), entity("p", "2", map[string]Value{"F": Double(1.5)})}},
		{name: "numeric row key", json: `{"PartitionKey":"p","RowKey":42}`, want: []Entity{entity("p", "42", nil)}},
		{name: "big integer is Int64", json: `{"PartitionKey":"p","RowKey":"r","N":9000000000}`,
			want: []Entity{entity("p", "r", map[string]Value{"N": Int64(9000000000)})}},
		{name: "annotations honoured", json: `{"PartitionKey":"p","RowKey":"r","N@odata.type":"Edm.Int64","N":"9000000000"}`,
			want: []Entity{entity("p", "r", map[string]Value{"N": Int64(9000000000)})}},
		{name: "Timestamp dropped", json: `{"PartitionKey":"p","RowKey":"r","Timestamp":"x"}`, want: []Entity{entity("p", "r", nil)}},
		{name: "not JSON", json: `hello`, wantErr: "expected a JSON object"},
		{name: "array of non-objects", json: `[1]`, wantErr: "array of JSON objects"},
		{name: "null element", json: `[null]`, wantErr: "entity 0"},
		{name: "object key", json: `{"PartitionKey":{},"RowKey":"r"}`, wantErr: "must be a string"},
		{name: "no row key", json: `{"PartitionKey":"p"}`, wantErr: "no PartitionKey and RowKey"},
		{name: "empty keys given", json: `{"PartitionKey":"","RowKey":""}`, want: []Entity{entity("", "", nil)}},
		{name: "nested value", json: `{"PartitionKey":"p","RowKey":"r","X":[1]}`, wantErr: "objects and arrays"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeBindingEntities([]byte(c.json), c.pk, c.rk)
			if c.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(c.want) {
				t.Fatalf("got %d entities, %v; want %d", len(got), err, len(c.want))
			}
			for i := range got {
				assertSameEntity(t, c.want[i], got[i])
			}
		})
	}
}

// The output binding inserts (creating the table), fails on an existing
// entity and leaves nothing behind when part of a batch fails.
func TestWriteOutputBinding(t *testing.T) {
	env := newEnv(t)
	s, ctx := env.svc, env.ctx
	if err := s.Write(ctx, "app1", "Out", entity("p", "1", map[string]Value{"V": Int32(1)})); err != nil {
		t.Fatalf("write into a table that does not exist yet: %v", err)
	}
	err := s.Write(ctx, "app1", "Out", entity("p", "1", map[string]Value{"V": Int32(2)}))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("writing an existing entity: %v, want ErrConflict", err)
	}
	batch := []Entity{entity("p", "2", nil), entity("q", "3", nil), entity("p", "1", nil)}
	if err := s.WriteAll(ctx, "app1", "Out", batch); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "entity 2") {
		t.Fatalf("batch with a conflict: %v", err)
	}
	all, err := s.Query(ctx, "app1", "Out", "", 0)
	if err != nil || len(all) != 1 || !all[0].Properties["V"].Equal(Int32(1)) {
		t.Fatalf("after the failed batch the table holds %v, %v; want only p/1 with V=1", keysOf(all), err)
	}
	bad := []Entity{entity("p", "5", nil), entity("p", "6", map[string]Value{"bad name": Int32(1)})}
	if err := s.WriteAll(ctx, "app1", "Out", bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid batch: %v", err)
	}
	if _, err := s.Get(ctx, "app1", "Out", "p", "5"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("valid half of an invalid batch was written: %v", err)
	}
}

func TestBindingJSON(t *testing.T) {
	e := allTypesEntity()
	got := string(BindingJSON(e))
	want := `{"PartitionKey":"p'1","RowKey":"r\"1","Timestamp":"2024-01-02T03:04:05.6Z","Active":true,"Age":-36,` +
		`"Big":9007199254740993,"Blob":"AAEC+g==","Born":"1815-12-10T00:00:00.0012345Z","Empty":"",` +
		`"Id":"c9da6455-213d-42c9-9a79-3e9149a57833","Name":"Ada <&> ` + "\u00e9" + `","Negative":"-Infinity",` +
		`"NotANum":"NaN","Ratio":2.5,"Tiny":1e-09,"Whole":5.0}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if arr := string(BindingArrayJSON(nil)); arr != "[]" {
		t.Fatalf("empty array %s", arr)
	}
	if arr := string(BindingArrayJSON([]Entity{entity("a", "b", nil), entity("c", "d", nil)})); arr != `[{"PartitionKey":"a","RowKey":"b"},{"PartitionKey":"c","RowKey":"d"}]` {
		t.Fatalf("array %s", arr)
	}
}
