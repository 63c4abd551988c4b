package queue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Encoding is host.json extensions.queues.messageEncoding: how a message's
// bytes are written as queue message text.
type Encoding string

// The two encodings Azure supports; Base64 is the default.
const (
	Base64 Encoding = "base64"
	None   Encoding = "none"
)

// Config is host.json extensions.queues, with Azure's defaults and limits.
type Config struct {
	// BatchSize is how many messages one fetch takes (1..32, default 16).
	BatchSize int
	// NewBatchThreshold: a new batch is fetched when the number of messages
	// in flight drops to this (default BatchSize/2 on one node). At most
	// BatchSize+NewBatchThreshold handlers run at once.
	NewBatchThreshold int
	// MaxPollingInterval is the longest one pull waits for messages
	// (default 1 minute, at least 100 ms). Tandem long-polls, so a new
	// message is delivered at once; see DESIGN.md.
	MaxPollingInterval time.Duration
	// VisibilityTimeout is how long a failed message stays invisible before
	// its next delivery (default 0).
	VisibilityTimeout time.Duration
	// MaxDequeueCount is how many deliveries fail before the message moves
	// to the poison queue (default 5, at least 1).
	MaxDequeueCount int
	// MessageEncoding is base64 (default) or none.
	MessageEncoding Encoding
}

// Limits from the Azure WebJobs queues extension (QueuesOptions).
const (
	MaxBatchSize          = 32
	minPollingInterval    = 100 * time.Millisecond
	maxVisibilityTimeout  = 7 * 24 * time.Hour
	defaultBatchSize      = 16
	defaultPollingMax     = time.Minute
	defaultMaxDequeueCnt  = 5
	maxNewBatchThreshold  = 10000
	maxMaxDequeueCount    = 1 << 20
	maxPollingIntervalCap = 7 * 24 * time.Hour
)

// DefaultConfig returns Azure's defaults for one node.
func DefaultConfig() Config {
	return Config{
		BatchSize:          defaultBatchSize,
		NewBatchThreshold:  defaultBatchSize / 2,
		MaxPollingInterval: defaultPollingMax,
		MaxDequeueCount:    defaultMaxDequeueCnt,
		MessageEncoding:    Base64,
	}
}

// Validate reports the first setting outside Azure's limits, naming it.
func (c Config) Validate() error {
	switch {
	case c.BatchSize < 1 || c.BatchSize > MaxBatchSize:
		return fmt.Errorf("queues.batchSize %d: must be 1..%d", c.BatchSize, MaxBatchSize)
	case c.NewBatchThreshold < 0 || c.NewBatchThreshold > maxNewBatchThreshold:
		return fmt.Errorf("queues.newBatchThreshold %d: must be 0..%d", c.NewBatchThreshold, maxNewBatchThreshold)
	case c.MaxPollingInterval < minPollingInterval || c.MaxPollingInterval > maxPollingIntervalCap:
		return fmt.Errorf("queues.maxPollingInterval %s: must be at least 100ms and at most 7 days", c.MaxPollingInterval)
	case c.VisibilityTimeout < 0 || c.VisibilityTimeout > maxVisibilityTimeout:
		return fmt.Errorf("queues.visibilityTimeout %s: must be 0..7 days", c.VisibilityTimeout)
	case c.MaxDequeueCount < 1 || c.MaxDequeueCount > maxMaxDequeueCount:
		return fmt.Errorf("queues.maxDequeueCount %d: must be at least 1", c.MaxDequeueCount)
	case c.MessageEncoding != Base64 && c.MessageEncoding != None:
		return fmt.Errorf("queues.messageEncoding %q: must be base64 or none", c.MessageEncoding)
	}
	return nil
}

// Bound is the most handlers a listener runs at once.
func (c Config) Bound() int { return c.BatchSize + c.NewBatchThreshold }

// ParseConfig parses the extensions.queues object of host.json. Keys match
// case-insensitively, unknown keys are ignored (as the host does), missing
// keys keep their defaults, and newBatchThreshold defaults to batchSize/2.
// Time spans are .NET TimeSpan strings such as "00:00:30".
func ParseConfig(raw []byte) (Config, error) {
	c := DefaultConfig()
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return c, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return c, fmt.Errorf("extensions.queues: %w", err)
	}
	thresholdSet, err := c.apply(fields)
	if err != nil {
		return c, err
	}
	if !thresholdSet {
		c.NewBatchThreshold = c.BatchSize / 2
	}
	return c, c.Validate()
}

// apply sets each known field; it reports whether newBatchThreshold was given.
func (c *Config) apply(fields map[string]json.RawMessage) (bool, error) {
	thresholdSet := false
	for key, v := range fields {
		var err error
		switch strings.ToLower(key) {
		case "batchsize":
			c.BatchSize, err = parseInt(v)
		case "newbatchthreshold":
			c.NewBatchThreshold, err = parseInt(v)
			thresholdSet = true
		case "maxpollinginterval":
			c.MaxPollingInterval, err = parseSpan(v)
		case "visibilitytimeout":
			c.VisibilityTimeout, err = parseSpan(v)
		case "maxdequeuecount":
			c.MaxDequeueCount, err = parseInt(v)
		case "messageencoding":
			c.MessageEncoding, err = parseEncoding(v)
		default:
			continue
		}
		if err != nil {
			return thresholdSet, fmt.Errorf("extensions.queues.%s: %w", key, err)
		}
	}
	return thresholdSet, nil
}

// parseInt accepts a JSON integer or a string holding one (host.json values
// reach the host as configuration strings, so both work in Azure).
func parseInt(v json.RawMessage) (int, error) {
	s := string(bytes.TrimSpace(v))
	if uq, err := strconv.Unquote(s); err == nil && strings.HasPrefix(s, `"`) {
		s = strings.TrimSpace(uq)
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer", v)
	}
	return int(n), nil
}

func parseSpan(v json.RawMessage) (time.Duration, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return 0, fmt.Errorf("%s: use a TimeSpan string such as \"00:00:30\"", v)
	}
	return ParseTimeSpan(s)
}

func parseEncoding(v json.RawMessage) (Encoding, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%s: use \"base64\" or \"none\"", v)
	}
	e := Encoding(strings.ToLower(strings.TrimSpace(s)))
	if e != Base64 && e != None {
		return "", fmt.Errorf("%q: use \"base64\" or \"none\"", s)
	}
	return e, nil
}

// ParseTimeSpan parses a non-negative .NET TimeSpan string: "d" (days) or
// "[d.]hh:mm[:ss[.fffffff]]" with hh < 24, mm and ss < 60.
func ParseTimeSpan(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" || strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("time span %q: want [d.]hh:mm[:ss[.fffffff]]", s)
	}
	if !strings.Contains(t, ":") {
		days, err := spanField(t, 0, 10675199)
		if err != nil {
			return 0, fmt.Errorf("time span %q: %w", s, err)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := parseClock(t)
	if err != nil {
		return 0, fmt.Errorf("time span %q: %w", s, err)
	}
	return d, nil
}

// parseClock parses "[d.]hh:mm[:ss[.fffffff]]".
func parseClock(t string) (time.Duration, error) {
	var days int64
	if dot, colon := strings.IndexByte(t, '.'), strings.IndexByte(t, ':'); dot >= 0 && dot < colon {
		n, err := spanField(t[:dot], 0, 10675199)
		if err != nil {
			return 0, err
		}
		days, t = n, t[dot+1:]
	}
	parts := strings.Split(t, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("want hh:mm or hh:mm:ss")
	}
	h, err := spanField(parts[0], 0, 23)
	if err != nil {
		return 0, err
	}
	m, err := spanField(parts[1], 0, 59)
	if err != nil {
		return 0, err
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
	if len(parts) == 3 {
		sec, err := parseSeconds(parts[2])
		if err != nil {
			return 0, err
		}
		d += sec
	}
	return d, nil
}

// parseSeconds parses "ss[.fffffff]" (at most 7 fraction digits, as .NET).
func parseSeconds(p string) (time.Duration, error) {
	whole, frac, hasFrac := strings.Cut(p, ".")
	s, err := spanField(whole, 0, 59)
	if err != nil {
		return 0, err
	}
	d := time.Duration(s) * time.Second
	if !hasFrac {
		return d, nil
	}
	if len(frac) < 1 || len(frac) > 7 {
		return 0, fmt.Errorf("fraction %q: 1-7 digits", frac)
	}
	f, err := spanField(frac, 0, 9999999)
	if err != nil {
		return 0, err
	}
	for i := len(frac); i < 9; i++ {
		f *= 10
	}
	return d + time.Duration(f), nil
}

func spanField(s string, lo, hi int64) (int64, error) {
	if s == "" || len(s) > 10 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q out of range %d..%d", s, lo, hi)
	}
	return n, nil
}
