package funcapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// HostConfig is what Tandem reads from host.json.
type HostConfig struct {
	Version string
	Handler Handler
	// RoutePrefix is extensions.http.routePrefix ("api" by default; "" allowed).
	RoutePrefix string
	// MaxConcurrentRequests is extensions.http.maxConcurrentRequests (0: unset).
	MaxConcurrentRequests int
	// FunctionTimeout bounds one invocation; 0 means unlimited ("-1").
	FunctionTimeout time.Duration
	Queues          QueueConfig
	// Functions is host.json "functions": when set, only these functions
	// load (nil: all).
	Functions []string
	// Retry is host.json "retry", the app's default policy (nil: none).
	Retry *Retry
}

// Handler is the customHandler (or legacy httpWorker) section's
// description, which both sections share: the process is
// defaultExecutablePath with arguments, then defaultWorkerPath, then
// workerArguments (for example "node" and "server.js").
type Handler struct {
	Section          string // "customHandler" or "httpWorker"
	ExecutablePath   string
	WorkerPath       string
	Arguments        []string
	WorkerArguments  []string
	WorkingDirectory string
	// ForwardHTTP: HTTP-only functions get the original request rather
	// than a payload: customHandler.enableForwardingHttpRequest, and
	// always for the legacy httpWorker section.
	ForwardHTTP bool
	// ForwardOriginalPath: the forwarded request keeps its path (a
	// customHandler section); the httpWorker section forwards to
	// /<FunctionName> with the query (DefaultHttpWorkerService.GetPathValue).
	ForwardOriginalPath bool
}

// QueueConfig is extensions.queues, with Azure's defaults applied.
type QueueConfig struct {
	BatchSize          int
	NewBatchThreshold  int // -1: unset (batchSize/2 x processors)
	MaxPollingInterval time.Duration
	VisibilityTimeout  time.Duration
	MaxDequeueCount    int
	MessageEncoding    string // "base64" or "none"
}

// DefaultFunctionTimeout is the consumption plan's default.
const DefaultFunctionTimeout = 5 * time.Minute

type rawHost struct {
	Version         *string          `json:"version"`
	FunctionTimeout *string          `json:"functionTimeout"`
	Functions       []string         `json:"functions"`
	Retry           json.RawMessage  `json:"retry"`
	CustomHandler   *rawHandlerBlock `json:"customHandler"`
	HTTPWorker      *rawHandlerBlock `json:"httpWorker"`
	Extensions      struct {
		HTTP struct {
			RoutePrefix           *string `json:"routePrefix"`
			MaxConcurrentRequests *int    `json:"maxConcurrentRequests"`
		} `json:"http"`
		Queues rawQueues `json:"queues"`
	} `json:"extensions"`
}

type rawHandlerBlock struct {
	Description struct {
		DefaultExecutablePath string   `json:"defaultExecutablePath"`
		DefaultWorkerPath     string   `json:"defaultWorkerPath"`
		Arguments             []string `json:"arguments"`
		WorkerArguments       []string `json:"workerArguments"`
		WorkingDirectory      string   `json:"workingDirectory"`
	} `json:"description"`
	EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
}

type rawQueues struct {
	BatchSize          *int    `json:"batchSize"`
	NewBatchThreshold  *int    `json:"newBatchThreshold"`
	MaxPollingInterval *string `json:"maxPollingInterval"`
	VisibilityTimeout  *string `json:"visibilityTimeout"`
	MaxDequeueCount    *int    `json:"maxDequeueCount"`
	MessageEncoding    *string `json:"messageEncoding"`
}

// ParseHost parses host.json; file names the file in errors.
func ParseHost(file string, data []byte) (HostConfig, error) {
	var raw rawHost
	if err := decodeJSON(data, &raw); err != nil {
		return HostConfig{}, fmt.Errorf("%s: %w", file, err)
	}
	h, err := raw.config()
	if err != nil {
		return HostConfig{}, fmt.Errorf("%s: %w", file, err)
	}
	return h, nil
}

func (raw rawHost) config() (HostConfig, error) {
	if raw.Version == nil || *raw.Version != "2.0" {
		got := "missing"
		if raw.Version != nil {
			got = strconv.Quote(*raw.Version)
		}
		return HostConfig{}, fmt.Errorf(`field "version": must be "2.0", got %s`, got)
	}
	h := HostConfig{Version: "2.0", RoutePrefix: "api", FunctionTimeout: DefaultFunctionTimeout, Functions: raw.Functions}
	var err error
	if h.Handler, err = raw.handler(); err != nil {
		return h, err
	}
	if err = raw.http(&h); err != nil {
		return h, err
	}
	if raw.FunctionTimeout != nil {
		if h.FunctionTimeout, err = parseFunctionTimeout(*raw.FunctionTimeout); err != nil {
			return h, fmt.Errorf(`field "functionTimeout": %w`, err)
		}
	}
	if h.Retry, err = parseRetry(raw.Retry); err != nil {
		return h, err
	}
	h.Queues, err = raw.Extensions.Queues.config()
	return h, err
}

func (raw rawHost) handler() (Handler, error) {
	block, section := raw.CustomHandler, "customHandler"
	if block == nil && raw.HTTPWorker != nil {
		block, section = raw.HTTPWorker, "httpWorker"
	}
	if block == nil {
		return Handler{}, errors.New(`field "customHandler": missing (Tandem runs custom-handler apps)`)
	}
	d := block.Description
	if strings.TrimSpace(d.DefaultExecutablePath) == "" {
		return Handler{}, fmt.Errorf(`field "%s.description.defaultExecutablePath": missing`, section)
	}
	custom := section == "customHandler"
	return Handler{
		Section:          section,
		ExecutablePath:   d.DefaultExecutablePath,
		WorkerPath:       d.DefaultWorkerPath,
		Arguments:        d.Arguments,
		WorkerArguments:  d.WorkerArguments,
		WorkingDirectory: d.WorkingDirectory,
		ForwardHTTP:      block.EnableForwardingHTTPRequest || !custom,
		// The host forwards the original path only for a customHandler
		// section that asks for forwarding.
		ForwardOriginalPath: custom && block.EnableForwardingHTTPRequest,
	}, nil
}

func (raw rawHost) http(h *HostConfig) error {
	x := raw.Extensions.HTTP
	if x.RoutePrefix != nil {
		h.RoutePrefix = strings.Trim(*x.RoutePrefix, "/")
	}
	if x.MaxConcurrentRequests != nil {
		if *x.MaxConcurrentRequests < -1 {
			return fmt.Errorf(`field "extensions.http.maxConcurrentRequests": %d is negative`, *x.MaxConcurrentRequests)
		}
		h.MaxConcurrentRequests = max(*x.MaxConcurrentRequests, 0)
	}
	return nil
}

func (q rawQueues) config() (QueueConfig, error) {
	c := QueueConfig{BatchSize: 16, NewBatchThreshold: -1, MaxPollingInterval: time.Minute, MaxDequeueCount: 5, MessageEncoding: "base64"}
	const f = `field "extensions.queues.%s": `
	if q.BatchSize != nil {
		if *q.BatchSize < 1 || *q.BatchSize > 32 {
			return c, fmt.Errorf(f+"%d is outside 1..32", "batchSize", *q.BatchSize)
		}
		c.BatchSize = *q.BatchSize
	}
	if q.NewBatchThreshold != nil {
		if *q.NewBatchThreshold < 0 {
			return c, fmt.Errorf(f+"%d is negative", "newBatchThreshold", *q.NewBatchThreshold)
		}
		c.NewBatchThreshold = *q.NewBatchThreshold
	}
	if q.MaxDequeueCount != nil {
		if *q.MaxDequeueCount < 1 {
			return c, fmt.Errorf(f+"%d is less than 1", "maxDequeueCount", *q.MaxDequeueCount)
		}
		c.MaxDequeueCount = *q.MaxDequeueCount
	}
	return c, q.durations(&c)
}

func (q rawQueues) durations(c *QueueConfig) error {
	if q.MaxPollingInterval != nil {
		d, err := ParseTimeSpan(*q.MaxPollingInterval)
		if err != nil || d < 100*time.Millisecond {
			return fmt.Errorf(`field "extensions.queues.maxPollingInterval": %q must be a TimeSpan of at least 00:00:00.1`, *q.MaxPollingInterval)
		}
		c.MaxPollingInterval = d
	}
	if q.VisibilityTimeout != nil {
		d, err := ParseTimeSpan(*q.VisibilityTimeout)
		if err != nil || d < 0 {
			return fmt.Errorf(`field "extensions.queues.visibilityTimeout": %q must be a TimeSpan such as 00:00:30`, *q.VisibilityTimeout)
		}
		c.VisibilityTimeout = d
	}
	if q.MessageEncoding != nil {
		switch e := strings.ToLower(*q.MessageEncoding); e {
		case "base64", "none":
			c.MessageEncoding = e
		default:
			return fmt.Errorf(`field "extensions.queues.messageEncoding": %q is not "base64" or "none"`, *q.MessageEncoding)
		}
	}
	return nil
}

func parseFunctionTimeout(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "-1" {
		return 0, nil
	}
	d, err := ParseTimeSpan(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be positive or -1", s)
	}
	return d, nil
}

// ParseTimeSpan parses a .NET TimeSpan in the forms host.json uses:
// "hh:mm:ss", "hh:mm:ss.fff", "d.hh:mm:ss" and "d.hh:mm:ss.fff".
func ParseTimeSpan(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a TimeSpan (hh:mm:ss)", s)
	days, rest := 0, strings.TrimSpace(s)
	if i, j := strings.IndexByte(rest, '.'), strings.IndexByte(rest, ':'); i >= 0 && j > i {
		d, err := strconv.Atoi(rest[:i])
		if err != nil || d < 0 {
			return 0, bad
		}
		days, rest = d, rest[i+1:]
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return 0, bad
	}
	h, errH := strconv.Atoi(parts[0])
	m, errM := strconv.Atoi(parts[1])
	sec, errS := strconv.ParseFloat(parts[2], 64)
	if errH != nil || errM != nil || errS != nil || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec >= 60 || strings.ContainsAny(parts[2], "eE+-") {
		return 0, bad
	}
	total := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
	return total + time.Duration(sec*float64(time.Second)), nil
}

// decodeJSON decodes one JSON object, naming the field of a type error.
func decodeJSON(data []byte, v any) error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM, as editors on Windows write
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return fmt.Errorf("field %q: %s is not %s", te.Field, te.Value, te.Type)
		case errors.As(err, &se):
			return fmt.Errorf("invalid JSON at byte %d: %w", se.Offset, err)
		default:
			return fmt.Errorf("invalid JSON: %w", err)
		}
	}
	if dec.More() {
		return errors.New("invalid JSON: data after the top-level value")
	}
	return nil
}
