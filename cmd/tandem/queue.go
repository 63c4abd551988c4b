package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func init() {
	register(&command{
		name:    "queue",
		summary: "put, peek, count, list or clear a function app's queue messages",
		run:     runQueue,
	})
}

// Where the queue verb reads a message and writes results (tests swap them).
var (
	queueStdin  io.Reader = os.Stdin
	queueStdout io.Writer = os.Stdout
)

const queueUsage = `Usage: tandem queue <put|peek|len|list|clear> --region URL --app APP [--queue Q] [flags]

  put    enqueue a message (--message TEXT, or standard input); --raw stores it without base64
  peek   show the oldest messages without consuming them (-n 1..32)
  len    print the number of messages in the queue
  list   list the app's queues with their lengths
  clear  delete every message in the queue

The master key comes from --key or the TANDEM_MASTER_KEY environment variable.
`

// queueArgs are the flags every queue verb shares.
type queueArgs struct {
	region, app, queue, key, message string
	raw                              bool
	n                                int
}

func runQueue(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(os.Stderr, queueUsage)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	verb := args[0]
	switch verb {
	case "put", "peek", "len", "list", "clear":
	default:
		fmt.Fprintf(os.Stderr, "tandem queue: unknown action %q\n\n%s", verb, queueUsage)
		return errUsage
	}
	a, err := parseQueueArgs(verb, args[1:])
	if err != nil {
		return err
	}
	return a.run(ctx, verb)
}

func parseQueueArgs(verb string, args []string) (*queueArgs, error) {
	a := &queueArgs{}
	fs := flag.NewFlagSet("queue "+verb, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), queueUsage+"\nFlags:\n"); fs.PrintDefaults() }
	fs.StringVar(&a.region, "region", "", "the region's base URL, e.g. http://127.0.0.1:7071 (required)")
	fs.StringVar(&a.app, "app", "", "function app name (required)")
	fs.StringVar(&a.queue, "queue", "", "queue name (required except for list)")
	fs.StringVar(&a.key, "key", "", "master key (default $TANDEM_MASTER_KEY)")
	fs.StringVar(&a.message, "message", "", "put: the message (default: read standard input)")
	fs.BoolVar(&a.raw, "raw", false, "put: store the message text as is, without the app's messageEncoding")
	fs.IntVar(&a.n, "n", 1, "peek: how many messages (1..32)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if a.key == "" {
		a.key = os.Getenv("TANDEM_MASTER_KEY")
	}
	if err := a.check(verb); err != nil {
		fmt.Fprintf(os.Stderr, "tandem queue %s: %v\n", verb, err)
		fs.Usage()
		return nil, errUsage
	}
	return a, nil
}

func (a *queueArgs) check(verb string) error {
	switch {
	case a.region == "":
		return errors.New("--region is required")
	case a.app == "":
		return errors.New("--app is required")
	case a.queue == "" && verb != "list":
		return errors.New("--queue is required")
	case a.key == "":
		return errors.New("a master key is required: --key or TANDEM_MASTER_KEY")
	case badPeekCount(verb, a.n):
		return fmt.Errorf("-n %d: must be 1..32", a.n)
	}
	if _, err := url.ParseRequestURI(a.region); err != nil {
		return fmt.Errorf("--region %q: %w", a.region, err)
	}
	return nil
}

func badPeekCount(verb string, n int) bool { return verb == "peek" && (n < 1 || n > 32) }

func (a *queueArgs) run(ctx context.Context, verb string) error {
	switch verb {
	case "put":
		return a.put(ctx)
	case "peek":
		return a.show(ctx, http.MethodGet, a.path("/messages")+fmt.Sprintf("?peek=%d", a.n))
	case "len":
		return a.length(ctx)
	case "list":
		return a.show(ctx, http.MethodGet, a.appPath())
	default:
		_, err := a.do(ctx, http.MethodDelete, a.path("/messages"), nil)
		return err
	}
}

func (a *queueArgs) appPath() string {
	return strings.TrimRight(a.region, "/") + "/admin/apps/" + url.PathEscape(a.app) + "/queues"
}

func (a *queueArgs) path(suffix string) string {
	return a.appPath() + "/" + url.PathEscape(a.queue) + suffix
}

func (a *queueArgs) put(ctx context.Context) error {
	body := []byte(a.message)
	if a.message == "" {
		b, err := io.ReadAll(queueStdin)
		if err != nil {
			return fmt.Errorf("read message from standard input: %w", err)
		}
		body = b
	}
	target := a.path("/messages")
	if a.raw {
		target += "?raw=true"
	}
	out, err := a.do(ctx, http.MethodPost, target, body)
	if err != nil {
		return err
	}
	return printJSON(out)
}

func (a *queueArgs) show(ctx context.Context, method, target string) error {
	out, err := a.do(ctx, method, target, nil)
	if err != nil {
		return err
	}
	return printJSON(out)
}

func (a *queueArgs) length(ctx context.Context) error {
	out, err := a.do(ctx, http.MethodGet, a.path(""), nil)
	if err != nil {
		return err
	}
	var v struct{ Length uint64 }
	if err := json.Unmarshal(out, &v); err != nil {
		return fmt.Errorf("queue length answer: %w", err)
	}
	_, err = fmt.Fprintln(queueStdout, v.Length)
	return err
}

// do sends one admin request with the master key and returns the body of
// a 2xx answer; other answers become errors quoting the server's message.
func (a *queueArgs) do(ctx context.Context, method, target string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	req.Header.Set("x-functions-key", a.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, target, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, target, resp.Status, serverError(out))
	}
	return out, nil
}

func serverError(body []byte) string {
	var e struct{ Error string }
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(body))
}

func printJSON(raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	_, err := fmt.Fprintln(queueStdout, strings.TrimSpace(buf.String()))
	return err
}
