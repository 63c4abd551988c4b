package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/queue"
)

// queueRegion serves the queue admin API behind a master-key check, as a
// region does, on 127.0.0.1 with a random port.
func queueRegion(t *testing.T, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Options{Region: "east", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	svc, err := queue.New(queue.Options{Broker: b})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.RegisterAdmin(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("x-functions-key")), []byte(key)) != 1 {
			http.Error(w, `{"error":"master key required"}`, http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// runQueueOut runs the queue verb with stdin and returns what it printed.
func runQueueOut(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	queueStdin, queueStdout = strings.NewReader(stdin), &out
	t.Cleanup(func() { queueStdin, queueStdout = nil, nil })
	err := runQueue(context.Background(), args)
	return out.String(), err
}

func TestQueueVerbRoundTrip(t *testing.T) {
	url := queueRegion(t, "secret")
	common := []string{"--region", url, "--app", "shop", "--queue", "orders", "--key", "secret"}
	out, err := runQueueOut(t, "", append([]string{"put", "--message", "hello"}, common...)...)
	if err != nil {
		t.Fatal(err)
	}
	var put queue.MessageJSON
	if err := json.Unmarshal([]byte(out), &put); err != nil || put.MessageText != "aGVsbG8=" {
		t.Fatalf("put printed %s (%v)", out, err)
	}
	t.Setenv("TANDEM_MASTER_KEY", "secret")
	noKey := common[:len(common)-2]
	if _, err := runQueueOut(t, "from stdin", append([]string{"put", "--raw"}, noKey...)...); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{append([]string{"len"}, noKey...), "2\n"},
		{append([]string{"peek", "-n", "2"}, noKey...), `"messageText": "from stdin"`},
		{[]string{"list", "--region", url, "--app", "shop"}, `"name": "orders"`},
		{append([]string{"clear"}, noKey...), ""},
		{append([]string{"len"}, noKey...), "0\n"},
	}
	for _, tt := range tests {
		out, err := runQueueOut(t, "", tt.args...)
		if err != nil || !strings.Contains(out, tt.want) || (tt.want == "" && out != "") {
			t.Fatalf("%v: printed %q, %v; want %q", tt.args, out, err, tt.want)
		}
	}
}

func TestQueueVerbErrors(t *testing.T) {
	url := queueRegion(t, "secret")
	t.Setenv("TANDEM_MASTER_KEY", "")
	tests := []struct {
		args    []string
		usage   bool
		mention string
	}{
		{[]string{"len", "--region", url, "--app", "shop", "--queue", "orders"}, true, ""},
		{[]string{"len", "--app", "shop", "--queue", "orders", "--key", "k"}, true, ""},
		{[]string{"peek", "-n", "40", "--region", url, "--app", "shop", "--queue", "q1", "--key", "secret"}, true, ""},
		{[]string{"frob"}, true, ""},
		{[]string{"len", "--region", url, "--app", "shop", "--queue", "orders", "--key", "wrong"}, false, "master key required"},
		{[]string{"len", "--region", url, "--app", "shop", "--queue", "missing", "--key", "secret"}, false, "not found"},
		{[]string{"put", "--region", url, "--app", "shop", "--queue", "Bad_Q", "--key", "secret", "--message", "x"}, false, "queue name"},
	}
	for _, tt := range tests {
		_, err := runQueueOut(t, "", tt.args...)
		switch {
		case tt.usage && !errors.Is(err, errUsage):
			t.Errorf("%v: %v, want a usage error", tt.args, err)
		case !tt.usage && (err == nil || !strings.Contains(err.Error(), tt.mention)):
			t.Errorf("%v: %v, want an error mentioning %q", tt.args, err, tt.mention)
		}
	}
	if _, err := runQueueOut(t, "", "put", "--help"); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
}
