// Command conformance is a custom handler written from the public
// protocol: it records every request it receives (see README.md).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
)

var mu sync.Mutex

func main() {
	addr := listenAddr()
	http.HandleFunc("/", serve)
	fmt.Println("conformance handler (go) listening on", addr)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func listenAddr() string {
	for _, a := range os.Args[1:] {
		if v, ok := strings.CutPrefix(a, "--listen="); ok {
			return v
		}
	}
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = os.Getenv("FUNCTIONS_HTTPWORKER_PORT")
	}
	return "127.0.0.1:" + port
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" && r.Method == http.MethodGet {
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body any = string(raw)
	var parsed any
	if json.Unmarshal(raw, &parsed) == nil {
		body = parsed
	}
	record(r, body)
	for _, pair := range strings.Split(os.Getenv("CONFORMANCE_REDIRECT"), ",") {
		if from, to, ok := strings.Cut(pair, "="); ok && from == r.URL.Path {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
	}
	for _, f := range strings.Split(os.Getenv("CONFORMANCE_FAIL"), ",") {
		if f != "" && f == r.URL.Path {
			http.Error(w, "failing as CONFORMANCE_FAIL asks", http.StatusInternalServerError)
			return
		}
	}
	if m, ok := parsed.(map[string]any); ok && r.Method == http.MethodPost && m["Data"] != nil {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"Outputs":{"res":{"statusCode":200,"body":"captured"}},"Logs":["captured %s"],"ReturnValue":null}`, r.URL.Path)
		return
	}
	fmt.Fprintf(w, "forwarded %s", r.URL.Path)
}

// probe says whether the file named by CONFORMANCE_PROBE_FILE can be read.
func probe() string {
	name := os.Getenv("CONFORMANCE_PROBE_FILE")
	if name == "" {
		return ""
	}
	if _, err := os.ReadFile(name); err != nil {
		return "denied"
	}
	return "readable"
}

func record(r *http.Request, body any) {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	line, _ := json.Marshal(map[string]any{
		"method": r.Method, "path": r.URL.Path, "invocationId": r.Header.Get("X-Azure-Functions-InvocationId"),
		"body": body, "env": env, "argv": os.Args[1:], "uid": os.Getuid(), "probe": probe(),
	})
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(os.Getenv("CAPTURE_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "capture:", err)
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}
