// Command echo is a custom handler written from the public protocol only,
// for tests: in payload mode it answers with what it received, in
// forwarding mode it describes the request, and query parameters make it
// misbehave (crash, hang, print) so the host's handling can be tested.
package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if ms, _ := strconv.Atoi(os.Getenv("ECHO_START_DELAY_MS")); ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	if os.Getenv("ECHO_FAIL_START") != "" {
		fmt.Fprintln(os.Stderr, "refusing to start: ECHO_FAIL_START is set")
		os.Exit(2)
	}
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	http.HandleFunc("/", serve)
	fmt.Println("echo handler listening on", port)
	if err := http.ListenAndServe("127.0.0.1:"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" {
		w.WriteHeader(http.StatusOK)
		return
	}
	misbehave(r)
	if stream(w, r) {
		return
	}
	body, _ := io.ReadAll(r.Body)
	if strings.HasPrefix(r.URL.Path, "/api/") || os.Getenv("ECHO_FORWARD_PREFIX") != "" && strings.HasPrefix(r.URL.Path, os.Getenv("ECHO_FORWARD_PREFIX")) {
		forwarded(w, r, body)
		return
	}
	payload(w, r, body)
}

// misbehave acts on query parameters: sleep=ms, crash=code, print=text.
func misbehave(r *http.Request) {
	q := r.URL.Query()
	if s := q.Get("print"); s != "" {
		fmt.Println(s)
	}
	if ms, _ := strconv.Atoi(q.Get("sleep")); ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	if code := q.Get("crash"); code != "" {
		n, _ := strconv.Atoi(code)
		os.Exit(n)
	}
}

func forwarded(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Echo", "forwarded")
	env := map[string]string{}
	for _, name := range r.URL.Query()["env"] {
		env[name] = os.Getenv(name)
	}
	described := map[string]any{
		"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "headers": r.Header,
		"body": string(body), "env": env, "pid": os.Getpid(),
	}
	if r.URL.RawQuery != "" && r.URL.Query().Has("digest") { // the body's length and SHA-256 instead of its text
		described["body"], described["bodyLen"], described["bodySha256"] = "", len(body), fmt.Sprintf("%x", sha256.Sum256(body))
	}
	_ = json.NewEncoder(w).Encode(described)
}

// stream acts on query parameters that shape the response: events=n
// sends n server-sent events, each after the file gate.<i> exists (the
// test lets the next one go); cut=n declares 2n bytes, sends n and
// closes the connection; redirect=<location> answers 302; big=n sends n
// bytes ("0123456789" repeated); drop=1 answers, then closes the
// connection as if idle for too long; reject=1 answers 413 without
// reading the body. It reports whether it answered.
func stream(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.RawQuery == "" {
		return false // the benchmarks' requests: no more work than before these options
	}
	q := r.URL.Query()
	n, _ := strconv.Atoi(q.Get("events") + q.Get("cut") + q.Get("big"))
	switch {
	case q.Has("events"):
		events(w, n, q.Get("gate"))
	case q.Has("cut"):
		w.Header().Set("Content-Length", strconv.Itoa(2*n))
		_, _ = w.Write([]byte(strings.Repeat("x", n)))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // closes the connection mid-body
	case q.Has("redirect"):
		http.Redirect(w, r, q.Get("redirect"), http.StatusFound)
	case q.Has("big"):
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = io.CopyN(w, digits{}, int64(n))
	case q.Has("reject"):
		w.Header().Set("Connection", "close")
		http.Error(w, "too large", http.StatusRequestEntityTooLarge) // the body left unread
	case q.Has("drop"):
		_, _ = io.Copy(io.Discard, r.Body)
		conn, buf, _ := http.NewResponseController(w).Hijack()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\ndropped")
		_ = buf.Flush()
		_ = conn.Close()
	default:
		return false
	}
	return true
}

func events(w http.ResponseWriter, n int, gate string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for i := 1; i <= n; i++ {
		for deadline := time.Now().Add(10 * time.Second); i > 1 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if _, err := os.Stat(fmt.Sprintf("%s.%d", gate, i-1)); err == nil {
				break
			}
		}
		fmt.Fprintf(w, "data: %d\n\n", i)
		w.(http.Flusher).Flush()
	}
}

// digits reads "0123456789" over and over.
type digits struct{}

func (digits) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0' + byte(i%10)
	}
	return len(p), nil
}

// payload answers a payload-mode invocation. With an app setting
// REPLY_<Function> it returns that JSON with "$PAYLOAD" replaced by the
// received payload; otherwise an http output "res" whose body is the
// received payload.
func payload(w http.ResponseWriter, r *http.Request, body []byte) {
	fn := strings.TrimPrefix(r.URL.Path, "/")
	hold(fn)
	received, _ := json.Marshal(map[string]any{
		"payload": json.RawMessage(orNull(body)), "invocationId": r.Header.Get("X-Azure-Functions-InvocationId"),
		"userAgent": r.Header.Get("User-Agent"), "pid": os.Getpid(),
	})
	w.Header().Set("Content-Type", "application/json")
	if tpl := os.Getenv("REPLY_" + fn); tpl != "" {
		if strings.HasPrefix(tpl, "status:") {
			code, _ := strconv.Atoi(strings.TrimPrefix(tpl, "status:"))
			w.WriteHeader(code)
			_, _ = w.Write([]byte(`{"error":"handler failed on purpose"}`))
			return
		}
		_, _ = w.Write([]byte(strings.ReplaceAll(tpl, "$PAYLOAD", string(received))))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"Outputs":     map[string]any{"res": map[string]any{"statusCode": 200, "body": string(received), "headers": map[string]string{"Content-Type": "application/json"}}},
		"Logs":        []string{"echo " + fn},
		"ReturnValue": nil,
	})
}

// hold blocks an invocation of fn while the file an app setting
// ECHO_HOLD_<Function> names exists (at most 5 minutes): a test keeps runs
// in flight, then lets them go by removing the file.
func hold(fn string) {
	p := os.Getenv("ECHO_HOLD_" + fn)
	for deadline := time.Now().Add(5 * time.Minute); p != "" && time.Now().Before(deadline); {
		if _, err := os.Stat(p); err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func orNull(b []byte) []byte {
	if len(b) == 0 || !json.Valid(b) {
		return []byte("null")
	}
	return b
}
