package region

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/tandemhq/tandem/internal/table"
)

// Issue 12 item 1: every non-HTTP input and every metadata value as the
// host serializes it (GetHttpScriptInvocationContextValue).
var inputFunctions = map[string]string{
	"items":    `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","route":"items/{id}"},{"type":"http","direction":"out","name":"res"}]}`,
	"onqueue":  `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"conf-in"}]}`,
	"plain":    `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous"},{"type":"http","direction":"out","name":"res"}]}`,
	"ontimer":  `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"0 0 0 1 1 *","runOnStartup":true}]}`,
	"onbinary": `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"conf-bin","dataType":"binary"}]}`,
	"lookup": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","route":"lookup/{pk}/{rk}"},` +
		`{"type":"table","direction":"in","name":"entity","tableName":"things","partitionKey":"{pk}","rowKey":"{rk}"},` +
		`{"type":"table","direction":"in","name":"all","tableName":"things","partitionKey":"{pk}","take":10},` +
		`{"type":"table","direction":"in","name":"missing","tableName":"things","partitionKey":"{pk}","rowKey":"nope"},` +
		`{"type":"http","direction":"out","name":"res"}]}`,
}

func TestConformanceInputSerialization(t *testing.T) {
	eachLang(t, func(t *testing.T, l conformanceLang) {
		app, capFile := conformanceApp(t, l, "conf", inputFunctions)
		tr := startRegion(t, nil, app)
		t.Run("queue trigger text", func(t *testing.T) {
			if r := tr.admin("POST", "/admin/apps/conf/queues/conf-in/messages", `{"Id":1,"When":"2024-04-06T15:30:00Z"}`); r.code != 201 {
				t.Fatalf("enqueue: %d %s", r.code, r.body)
			}
			p := payloadOf(t, waitCapture(t, capFile, "/onqueue"))
			md := p["Metadata"].(map[string]any)
			normalizeSys(t, md)
			for _, k := range []string{"ExpirationTime", "InsertionTime", "NextVisibleTime"} {
				if s, _ := md[k].(string); !offsetPattern.MatchString(s) {
					t.Errorf("Metadata.%s = %q, want a DateTimeOffset to the second", k, s)
				}
				md[k] = "<time>"
			}
			md["PopReceipt"] = "<receipt>"
			checkGolden(t, "queue-text.json", p)
			// The double decode apps written for Azure do.
			var inner string
			msg, _ := p["Data"].(map[string]any)["msg"].(string)
			if err := json.Unmarshal([]byte(msg), &inner); err != nil || inner != `{"Id":1,"When":"2024-04-06T15:30:00Z"}` {
				t.Errorf("Data.msg does not decode twice to the message: %q %v", inner, err)
			}
		})
		t.Run("timer trigger", func(t *testing.T) {
			p := payloadOf(t, waitCapture(t, capFile, "/ontimer"))
			normalizeSys(t, p["Metadata"].(map[string]any))
			st, _ := p["Data"].(map[string]any)["t"].(map[string]any)["ScheduleStatus"].(map[string]any)
			for _, k := range []string{"Last", "Next", "LastUpdated"} {
				if s, _ := st[k].(string); !timerTimePattern.MatchString(s) {
					t.Errorf("ScheduleStatus.%s = %q, want Json.NET's local DateTime form", k, s)
				}
				st[k] = "<time>"
			}
			checkGolden(t, "timer.json", p)
		})
		t.Run("queue trigger binary", func(t *testing.T) {
			if r := tr.admin("POST", "/admin/apps/conf/queues/conf-bin/messages", "plain text"); r.code != 201 {
				t.Fatalf("enqueue: %d %s", r.code, r.body)
			}
			data := payloadOf(t, waitCapture(t, capFile, "/onbinary"))["Data"].(map[string]any)
			if data["msg"] != "cGxhaW4gdGV4dA==" {
				t.Errorf("Data.msg = %#v, want the base64 of the bytes", data["msg"])
			}
		})
		t.Run("http trigger metadata", func(t *testing.T) {
			r := tr.do("POST", "/api/items/42?x=1&x=2&code=abc", "", `{"name":"ada","n":2.50,"ok":true,"tags":[1],"inner":{"a":1}}`, "X-Multi", "1", "X-Multi", "2")
			if r.code != 200 {
				t.Fatalf("POST items: %d %s", r.code, r.body)
			}
			p := payloadOf(t, waitCapture(t, capFile, "/items"))
			md := p["Metadata"].(map[string]any)
			normalizeSys(t, md)
			if h, _ := md["Headers"].(map[string]any); h == nil || h["X-Multi"] != "1,2" {
				t.Errorf("Metadata.Headers = %v, want X-Multi \"1,2\"", md["Headers"])
			}
			md["Headers"] = "<headers>"
			req := p["Data"].(map[string]any)["req"].(map[string]any)
			req["Headers"], req["Url"] = "<headers>", "<url>"
			checkGolden(t, "http.json", p)
			if r := tr.do("GET", "/api/plain", "", ""); r.code != 200 {
				t.Fatalf("GET plain: %d %s", r.code, r.body)
			}
			plain := payloadOf(t, waitCapture(t, capFile, "/plain"))["Data"].(map[string]any)["req"].(map[string]any)
			if params, ok := plain["Params"].(map[string]any); !ok || len(params) != 0 {
				t.Errorf("Data.req.Params = %#v, want {} (the host always sets route data)", plain["Params"])
			}
		})
		t.Run("table input", func(t *testing.T) {
			ctx := context.Background()
			for _, rk := range []string{"r1", "r2"} {
				e := table.Entity{PartitionKey: "p", RowKey: rk, Properties: map[string]table.Value{"Name": table.String("n-" + rk)}}
				if _, err := tr.svc.tables.Insert(ctx, "conf", "things", e); err != nil {
					t.Fatal(err)
				}
			}
			if r := tr.do("GET", "/api/lookup/p/r1", "", ""); r.code != 200 {
				t.Fatalf("GET lookup: %d %s", r.code, r.body)
			}
			data := payloadOf(t, waitCapture(t, capFile, "/lookup"))["Data"].(map[string]any)
			ent, ok := data["entity"].(map[string]any)
			if !ok || ent["RowKey"] != "r1" || ent["Name"] != "n-r1" {
				t.Errorf("Data.entity = %#v, want the entity as a JSON object", data["entity"])
			}
			text, ok := data["all"].(string)
			var list []map[string]any
			if !ok || json.Unmarshal([]byte(text), &list) != nil || len(list) != 2 || list[1]["RowKey"] != "r2" {
				t.Errorf("Data.all = %#v, want the entities' JSON array serialized as a string (a JArray is not a JObject)", data["all"])
			}
			if data["missing"] != "null" {
				t.Errorf("Data.missing = %#v, want the string \"null\" (SerializeObject(null))", data["missing"])
			}
		})
	})
}

var timerTimePattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?[+-]\d\d:\d\d$`)

// payloadOf is the payload-mode body a handler recorded.
func payloadOf(t *testing.T, c capture) map[string]any {
	t.Helper()
	p, ok := c.Body.(map[string]any)
	if !ok || c.Method != "POST" {
		t.Fatalf("%s %s: body %#v is not a payload", c.Method, c.Path, c.Body)
	}
	return p
}
