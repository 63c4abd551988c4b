package funcapp

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Retry is a retry policy (function.json or host.json "retry"): after a
// failed run the function runs again, up to MaxRetryCount more times (-1:
// without end), after Delay (fixedDelay) or a delay doubling from
// MinimumInterval up to MaximumInterval (exponentialBackoff).
type Retry struct {
	Strategy        string // "fixeddelay" or "exponentialbackoff"
	MaxRetryCount   int
	Delay           time.Duration
	MinimumInterval time.Duration
	MaximumInterval time.Duration
}

// DelayBefore is the wait before retry number n (1 is the first retry).
func (r *Retry) DelayBefore(n int) time.Duration {
	if r.Strategy == "fixeddelay" {
		return r.Delay
	}
	d := r.MinimumInterval
	for i := 1; i < n && d < r.MaximumInterval; i++ {
		if d > r.MaximumInterval/2 {
			return r.MaximumInterval // and no overflow
		}
		d *= 2
	}
	return min(d, r.MaximumInterval)
}

type rawRetry struct {
	Strategy        string  `json:"strategy"`
	MaxRetryCount   *int    `json:"maxRetryCount"`
	DelayInterval   *string `json:"delayInterval"`
	MinimumInterval *string `json:"minimumInterval"`
	MaximumInterval *string `json:"maximumInterval"`
}

// parseRetry reads a "retry" object; nil raw means no policy.
func parseRetry(raw json.RawMessage) (*Retry, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var rr rawRetry
	if err := decodeJSON(raw, &rr); err != nil {
		return nil, fmt.Errorf(`field "retry": %w`, err)
	}
	r := &Retry{Strategy: strings.ToLower(rr.Strategy)}
	if rr.MaxRetryCount == nil || *rr.MaxRetryCount < -1 {
		return nil, fmt.Errorf(`field "retry.maxRetryCount": required, -1 (no end) or more`)
	}
	r.MaxRetryCount = *rr.MaxRetryCount
	var err error
	switch r.Strategy {
	case "fixeddelay":
		r.Delay, err = retryInterval("delayInterval", rr.DelayInterval)
	case "exponentialbackoff":
		if r.MinimumInterval, err = retryInterval("minimumInterval", rr.MinimumInterval); err == nil {
			r.MaximumInterval, err = retryInterval("maximumInterval", rr.MaximumInterval)
		}
		if err == nil && r.MaximumInterval < r.MinimumInterval {
			err = fmt.Errorf(`field "retry.maximumInterval": shorter than minimumInterval`)
		}
	default:
		err = fmt.Errorf(`field "retry.strategy": %q is not "fixedDelay" or "exponentialBackoff"`, rr.Strategy)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func retryInterval(field string, s *string) (time.Duration, error) {
	if s == nil {
		return 0, fmt.Errorf(`field "retry.%s": required (a TimeSpan such as 00:00:10)`, field)
	}
	d, err := ParseTimeSpan(*s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf(`field "retry.%s": %q is not a TimeSpan such as 00:00:10`, field, *s)
	}
	return d, nil
}
