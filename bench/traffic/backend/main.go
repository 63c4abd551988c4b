// Command backend is the bench's stand-in for a region gateway: the same
// tiny HTTP server behind Tandem's traffic manager and behind HAProxy, so
// the two proxies are measured against identical upstreams. It answers
// GET /healthz (as regions do), POST /admin/role (accepts any role, so the
// traffic manager's witness runs as it would against regions) and every
// other path with a small body naming the backend.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:7101", "address to serve")
	name := flag.String("name", "a", "backend name, returned in X-Backend and the body")
	flag.Parse()
	var mu sync.Mutex
	state := map[string]any{"region": *name, "role": "secondary", "epoch": 0}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(state)
	})
	mux.HandleFunc("POST /admin/role", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		defer mu.Unlock()
		state["role"], state["epoch"], state["leaseUntil"] = req["role"], req["epoch"], req["leaseUntil"]
		state["updatedAt"] = time.Now()
		_ = json.NewEncoder(w).Encode(state)
	})
	body := []byte("hello from " + *name + "\n")
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Backend", *name)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
