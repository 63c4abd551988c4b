// Package hellogo is the hello-go example's custom handler, kept as a package so
// that the tandem binary can serve it itself (`tandem up` from any folder,
// no compiler at run time) and examples/hello-go/src can build it alone.
//
// It is the hello-go example's custom handler: plain net/http
// serving the Azure Functions custom-handler protocol on
// FUNCTIONS_CUSTOMHANDLER_PORT. Forwarded HTTP functions get the original
// request; every other function gets a payload-mode POST /<FunctionName>.
package hellogo

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

var served atomic.Int64

// Main serves the handler on FUNCTIONS_CUSTOMHANDLER_PORT until the
// process ends.
func Main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/hello/{name...}", hello)   // forwarded (enableForwardingHttpRequest)
	mux.HandleFunc("GET /api/stats", stats)             // forwarded, authLevel admin
	mux.HandleFunc("POST /items", items)                // payload mode: http in, http + queue out
	mux.HandleFunc("POST /process-order", processOrder) // payload mode: queue trigger, table out
	mux.HandleFunc("POST /order-status", orderStatus)   // payload mode: table in
	mux.HandleFunc("POST /heartbeat", heartbeat)        // payload mode: timer
	mux.HandleFunc("GET /{$}", func(http.ResponseWriter, *http.Request) {})
	addr := "127.0.0.1:" + os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	log.Printf("hello-go handler listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}

func hello(w http.ResponseWriter, r *http.Request) {
	served.Add(1)
	name := r.PathValue("name")
	if name == "" {
		name = "world"
	}
	fmt.Fprintf(w, "%s, %s! (region %s)\n", os.Getenv("GREETING"), name, os.Getenv("REGION_NAME"))
}

func stats(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"served": served.Add(1), "pid": os.Getpid()})
}

// invocation is the payload-mode request body.
type invocation struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

type httpRequest struct {
	Method string            `json:"Method"`
	Params map[string]string `json:"Params"`
	Body   string            `json:"Body"`
}

func decode(r *http.Request) (invocation, error) {
	var in invocation
	err := json.NewDecoder(r.Body).Decode(&in)
	return in, err
}

// hostString undoes the Functions host's serialization of a non-HTTP
// input: a queue message (or a missing table row) arrives as a JSON string
// holding the JSON serialization of its text, so decode twice. An entity
// (a JSON object) comes as it is.
func hostString(raw json.RawMessage) []byte {
	var outer string
	if json.Unmarshal(raw, &outer) != nil {
		return raw
	}
	var inner string
	if strings.HasPrefix(outer, `"`) && json.Unmarshal([]byte(outer), &inner) == nil {
		return []byte(inner)
	}
	return []byte(outer)
}

func reply(w http.ResponseWriter, outputs map[string]any, logs ...string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"Outputs": outputs, "Logs": logs})
}

func items(w http.ResponseWriter, r *http.Request) {
	in, err := decode(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req httpRequest
	json.Unmarshal(in.Data["req"], &req)
	order := map[string]any{"id": req.Params["id"], "body": req.Body, "at": time.Now().UTC()}
	reply(w, map[string]any{
		"order": order,
		"res":   map[string]any{"statusCode": 202, "body": map[string]any{"queued": req.Params["id"]}},
	}, "queued order "+req.Params["id"])
}

func processOrder(w http.ResponseWriter, r *http.Request) {
	in, err := decode(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var order struct {
		ID   string `json:"id"`
		Body string `json:"body"`
	}
	if err := json.Unmarshal(hostString(in.Data["order"]), &order); err != nil || order.ID == "" {
		http.Error(w, "order message is not {id, body}", http.StatusBadRequest)
		return
	}
	row := map[string]any{"PartitionKey": "orders", "RowKey": order.ID, "Body": order.Body, "Status": "processed"}
	reply(w, map[string]any{"row": row}, "processed order "+order.ID)
}

func orderStatus(w http.ResponseWriter, r *http.Request) {
	in, err := decode(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	row := in.Data["row"]
	if len(row) == 0 || string(hostString(row)) == "null" {
		reply(w, map[string]any{"res": map[string]any{"statusCode": 404, "body": "no such order yet"}})
		return
	}
	reply(w, map[string]any{"res": map[string]any{"statusCode": 200, "body": json.RawMessage(row),
		"headers": map[string]string{"Content-Type": "application/json"}}})
}

func heartbeat(w http.ResponseWriter, r *http.Request) {
	in, err := decode(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var tick struct{ IsPastDue bool }
	json.Unmarshal(in.Data["tick"], &tick)
	reply(w, map[string]any{}, fmt.Sprintf("heartbeat in region %s (past due: %v)", os.Getenv("REGION_NAME"), tick.IsPastDue))
}
