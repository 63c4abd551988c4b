package table

import (
	"errors"
	"testing"
)

func TestParseResource(t *testing.T) {
	cases := []struct {
		path string
		want resource
	}{
		{"Tables", resource{kind: resTables}},
		{"Tables()", resource{kind: resTables}},
		{"Tables('Orders')", resource{kind: resTableByName, table: "Orders"}},
		{"Orders", resource{kind: resTable, table: "Orders"}},
		{"Orders()", resource{kind: resTable, table: "Orders"}},
		{"$batch", resource{kind: resBatch}},
		{"Orders(PartitionKey='p',RowKey='r')", resource{kind: resEntity, table: "Orders", pk: "p", rk: "r"}},
		{"Orders(RowKey='r',PartitionKey='p')", resource{kind: resEntity, table: "Orders", pk: "p", rk: "r"}},
		{"Orders(PartitionKey='',RowKey='')", resource{kind: resEntity, table: "Orders"}},
		{"Orders(PartitionKey='it''s',RowKey='a,b)c')", resource{kind: resEntity, table: "Orders", pk: "it's", rk: "a,b)c"}},
	}
	for _, c := range cases {
		got, err := parseResource(c.path)
		if err != nil || got != c.want {
			t.Errorf("parseResource(%q) = %+v, %v; want %+v", c.path, got, err, c.want)
		}
	}
}

func TestParseResourceErrors(t *testing.T) {
	for _, path := range []string{
		"", "Orders(", "Orders(PartitionKey='p')", "Orders(PartitionKey='p',RowKey='r',)",
		"Orders(PartitionKey='p' RowKey='r')", "Orders(Foo='p',RowKey='r')", "Orders(PartitionKey=p,RowKey='r')",
		"Orders(PartitionKey='p,RowKey='r')", "Tables('x'", "Tables('x')y)", "bad-name", "ab", "Orders/x",
	} {
		if _, err := parseResource(path); err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("parseResource(%q) err = %v, want ErrInvalid", path, err)
		}
	}
}

func FuzzResourcePath(f *testing.F) {
	for _, s := range []string{"Tables", "Tables('x')", "Orders()", "Orders(PartitionKey='a''b',RowKey='c')", "$batch", "T(", "Orders(RowKey='x',PartitionKey='y')"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseResource(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: error %v is not ErrInvalid", s, err)
			}
			return
		}
		if r.kind == resEntity {
			// The SDK's escaping (quotes doubled) must read back the same keys.
			again, err := parseResource(r.table + "(PartitionKey=" + QuoteString(r.pk) + ",RowKey=" + QuoteString(r.rk) + ")")
			if err != nil || again != r {
				t.Fatalf("%q: re-encoded keys read back as %+v, %v", s, again, err)
			}
		}
	})
}
