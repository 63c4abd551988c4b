// Command handler is the queue-flow benchmark's custom handler: "submit"
// (HTTP, payload mode) puts the request body on a queue; "drain" (queue
// trigger) appends how long after its send time each message arrived to
// the file named by the LATENCY_FILE setting (shared by every instance).
package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"time"
)

var out *os.File

func main() {
	f, err := os.OpenFile(os.Getenv("LATENCY_FILE"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		panic(err)
	}
	out = f
	http.HandleFunc("/submit", submit)
	http.HandleFunc("/drain", drain)
	http.HandleFunc("/", func(http.ResponseWriter, *http.Request) {})
	_ = http.ListenAndServe("127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), nil)
}

type payload struct {
	Data map[string]json.RawMessage `json:"Data"`
}

func submit(w http.ResponseWriter, r *http.Request) {
	var p payload
	_ = json.NewDecoder(r.Body).Decode(&p)
	var req struct{ Body string }
	_ = json.Unmarshal(p.Data["req"], &req)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"Outputs":{"msg":` + strconv.Quote(req.Body) + `,"res":{"statusCode":202}}}`))
}

func drain(w http.ResponseWriter, r *http.Request) {
	var p payload
	_ = json.NewDecoder(r.Body).Decode(&p)
	// The queue item is the message text serialized as the host does it:
	// a JSON string holding the text's own JSON ("\"123\"" for 123).
	var text string
	_ = json.Unmarshal(p.Data["msg"], &text)
	if unquoted, err := strconv.Unquote(text); err == nil {
		text = unquoted
	}
	sent, _ := strconv.ParseInt(text, 10, 64)
	if sent > 0 {
		// One O_APPEND write per record: atomic across instances.
		_, _ = out.WriteString(strconv.FormatInt(time.Now().UnixNano()-sent, 10) + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"Outputs":{}}`))
}
