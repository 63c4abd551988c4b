// Package drillapp is the drill example's custom handler, kept as a package so
// that the tandem binary can serve it itself (`tandem up` from any folder,
// no compiler at run time) and examples/drill/src can build it alone.
//
// It is the drill app: every effect it has is a table row, so
// `tandem drill` can count losses, duplicates and double ticks from the
// replicated data itself after a failover and failback.
//
//   - GET  /api/ping         forwarded; answers with the region's name
//   - POST /api/work/{id}    queues {"id"} on drill-work
//   - drill-work trigger     writes Deliveries(id, <id>.<random>): one row per delivery
//   - PUT  /api/entity/{id}  writes Entities(e, <id>) unless it is there (idempotent)
//   - POST /api/blob/{id}    writes the blob drill-in/<id> (a blob output)
//   - drill-in/{id} trigger  writes Fired(b, <id>.<invocation id>): one row per run
//   - timer every second     writes Ticks(t, <second>.<random>): one row per run
package drillapp

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"time"
)

// Main serves the handler on FUNCTIONS_CUSTOMHANDLER_PORT until the
// process ends.
func Main() {
	http.HandleFunc("GET /api/ping", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(os.Getenv("REGION_NAME")))
	})
	http.HandleFunc("POST /work", work)
	http.HandleFunc("POST /deliver", deliver)
	http.HandleFunc("POST /entity", entity)
	http.HandleFunc("POST /tick", tick)
	http.HandleFunc("POST /blob", putBlob)
	http.HandleFunc("POST /fired", fired)
	http.HandleFunc("GET /{$}", func(http.ResponseWriter, *http.Request) {})
	_ = http.ListenAndServe("127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), nil)
}

type invocation struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

func decode(r *http.Request) (invocation, map[string]string) {
	var in invocation
	_ = json.NewDecoder(r.Body).Decode(&in)
	var req struct{ Params map[string]string }
	_ = json.Unmarshal(in.Data["req"], &req)
	return in, req.Params
}

// hostString undoes the Functions host's serialization of a queue message:
// a JSON string holding the JSON serialization of the text; decode twice.
func hostString(raw json.RawMessage) []byte {
	var outer, inner string
	if json.Unmarshal(raw, &outer) != nil {
		return raw
	}
	if strings.HasPrefix(outer, `"`) && json.Unmarshal([]byte(outer), &inner) == nil {
		return []byte(inner)
	}
	return []byte(outer)
}

func reply(w http.ResponseWriter, outputs map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"Outputs": outputs})
}

func nonce() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func work(w http.ResponseWriter, r *http.Request) {
	_, p := decode(r)
	reply(w, map[string]any{"job": map[string]string{"id": p["id"]}, "res": map[string]any{"statusCode": 202}})
}

func deliver(w http.ResponseWriter, r *http.Request) {
	in, _ := decode(r)
	var job struct{ ID string }
	_ = json.Unmarshal(hostString(in.Data["job"]), &job)
	row := map[string]any{"PartitionKey": "id", "RowKey": job.ID + "." + nonce(), "Job": job.ID, "Region": os.Getenv("REGION_NAME")}
	reply(w, map[string]any{"delivery": row})
}

// entity makes PUT idempotent, as HTTP says it is: a PUT the proxy resends
// to another region after it landed (the first region hung before
// answering) finds its row and answers the same, writing nothing twice.
func entity(w http.ResponseWriter, r *http.Request) {
	in, p := decode(r)
	if exists(in.Data["existing"]) {
		reply(w, map[string]any{"res": map[string]any{"statusCode": 201}})
		return
	}
	row := map[string]any{"PartitionKey": "e", "RowKey": p["id"], "Region": os.Getenv("REGION_NAME")}
	reply(w, map[string]any{"row": row, "res": map[string]any{"statusCode": 201}})
}

// exists reports whether a table input found its row (the host sends a
// missing one as null, or the string "null").
func exists(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s != `"null"`
}

// putBlob writes drill-in/<id> through the blob output binding; the 201
// comes once the blob is stored (in sync mode, in the standbys too).
func putBlob(w http.ResponseWriter, r *http.Request) {
	_, p := decode(r)
	reply(w, map[string]any{"blob": "blob " + p["id"], "res": map[string]any{"statusCode": 201}})
}

// fired records one run of the blob trigger: the blob's id (the {id}
// capture, which the host sends as a JSON-serialized string) and the
// invocation id, so a version run twice leaves two rows.
func fired(w http.ResponseWriter, r *http.Request) {
	in, _ := decode(r)
	id := string(hostString(in.Metadata["id"]))
	inv := r.Header.Get("X-Azure-Functions-InvocationId")
	if inv == "" {
		inv = nonce()
	}
	row := map[string]any{"PartitionKey": "b", "RowKey": id + "." + inv, "Blob": id, "Region": os.Getenv("REGION_NAME")}
	reply(w, map[string]any{"run": row})
}

func tick(w http.ResponseWriter, r *http.Request) {
	in, _ := decode(r)
	var md struct{ Sys struct{ UtcNow time.Time } }
	_ = json.Unmarshal(mustJSON(in.Metadata), &md)
	// The second the run was due: a run starts no earlier than its tick and
	// the next tick is the first occurrence after it claimed this one, so
	// truncating names each tick once even when a run is late (rounding
	// named a run 0.5 s late after the next second, which then looked run
	// twice).
	second := md.Sys.UtcNow.Truncate(time.Second).UTC().Format("20060102T150405Z")
	row := map[string]any{"PartitionKey": "t", "RowKey": second + "." + nonce(), "Second": second, "Region": os.Getenv("REGION_NAME")}
	reply(w, map[string]any{"tick": row})
}

func mustJSON(m map[string]json.RawMessage) []byte {
	b, _ := json.Marshal(m)
	return b
}
