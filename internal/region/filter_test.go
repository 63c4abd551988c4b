package region

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/table"
)

// TestTableFilterTakesRouteValuesAsLiterals: a table input binding's
// filter gets route values as OData literals, so a hostile route value
// cannot widen the query to another partition (it used to: the value was
// pasted into the filter as OData text).
func TestTableFilterTakesRouteValuesAsLiterals(t *testing.T) {
	fn := `{"bindings":[` +
		`{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","route":"lookup/{pk}/{age}"},` +
		`{"type":"table","direction":"in","name":"rows","tableName":"people","filter":"PartitionKey eq '{pk}' and Age ge {age}"},` +
		`{"type":"http","direction":"out","name":"res"}]}`
	tr := startRegion(t, nil, testApp{name: "shop", functions: map[string]string{"lookup": fn}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, pk := range []string{"x", "secret", "O'Brien"} {
		e := table.Entity{PartitionKey: pk, RowKey: "1", Properties: map[string]table.Value{"Age": table.Int32(30)}}
		if _, err := tr.svc.tables.InsertAll(ctx, "shop", "people", []table.Entity{e}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name, pk, age string
		code          int
		partitions    []string
	}{
		{"plain", "x", "1", 200, []string{"x"}},
		{"quote in a value", "O'Brien", "1", 200, []string{"O'Brien"}},
		{"quote breaks out", "x' or PartitionKey ne 'x", "1", 200, nil},
		{"quote breaks out, two quotes", "x'' or PartitionKey ne ''x", "1", 200, nil},
		{"unquoted value with OData", "x", "1 or true", 500, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := tr.do("GET", "/api/lookup/"+url.PathEscape(c.pk)+"/"+url.PathEscape(c.age), "", "")
			if res.code != c.code {
				t.Fatalf("%d %s, want %d", res.code, res.body, c.code)
			}
			if c.code != 200 {
				return
			}
			if got := partitionsIn(t, res.body); canon(t, got) != canon(t, c.partitions) {
				t.Fatalf("rows of partitions %v, want %v", got, c.partitions)
			}
		})
	}
}

// partitionsIn reads the partition keys of the rows the echo handler was
// given in its payload: a list of entities arrives as a JSON string holding
// the array, as the host serializes a JArray (hostjson).
func partitionsIn(t *testing.T, body []byte) []string {
	t.Helper()
	var echo struct {
		Payload struct {
			Data struct{ Rows json.RawMessage }
		}
	}
	if err := json.Unmarshal(body, &echo); err != nil {
		t.Fatalf("echo: %v: %s", err, body)
	}
	var text string
	if err := json.Unmarshal(echo.Payload.Data.Rows, &text); err != nil {
		t.Fatalf("rows are not a JSON string: %v: %s", err, echo.Payload.Data.Rows)
	}
	var rows []struct{ PartitionKey string }
	if err := json.Unmarshal([]byte(text), &rows); err != nil {
		t.Fatalf("rows: %v: %s", err, echo.Payload.Data.Rows)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.PartitionKey)
	}
	return out
}
