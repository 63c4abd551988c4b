package invoke

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/tandemhq/tandem/internal/funcapp"
)

// RetryContext is Metadata.RetryContext on a retried run, as the host sets
// it (ScriptInvocationContextExtensions.SetRetryContext): the retry's
// number, the policy's maximum and the previous run's exception.
type RetryContext struct {
	RetryCount    int       `json:"RetryCount"`
	MaxRetryCount int       `json:"MaxRetryCount"`
	Exception     Exception `json:"Exception"`
}

// Exception is how Json.NET writes a System.Exception (its ISerializable
// fields); Tandem fills the class, the message and the HResult of
// System.Exception.
type Exception struct {
	ClassName              string `json:"ClassName"`
	Message                string `json:"Message"`
	Data                   any    `json:"Data"`
	InnerException         any    `json:"InnerException"`
	HelpURL                any    `json:"HelpURL"`
	StackTraceString       any    `json:"StackTraceString"`
	RemoteStackTraceString any    `json:"RemoteStackTraceString"`
	RemoteStackIndex       int    `json:"RemoteStackIndex"`
	ExceptionMethod        any    `json:"ExceptionMethod"`
	HResult                int    `json:"HResult"`
	Source                 any    `json:"Source"`
	WatsonBuckets          any    `json:"WatsonBuckets"`
}

// InvokeWithRetry runs fn, and after a failure runs it again as policy
// says (nil: once), each retry with Metadata.RetryContext. It stops early
// when ctx ends.
func (iv *Invoker) InvokeWithRetry(ctx context.Context, fn *funcapp.Function, t Trigger, policy *funcapp.Retry) (*Result, error) {
	res, err := iv.Invoke(ctx, fn, t)
	for n := 1; err != nil && policy != nil && (policy.MaxRetryCount < 0 || n <= policy.MaxRetryCount); n++ {
		d := policy.DelayBefore(n)
		iv.log.Warn("retrying function", "function", fn.Name, "retry", n, "maxRetryCount", policy.MaxRetryCount, "delay", d, "err", err)
		if werr := sleepCtx(ctx, d); werr != nil {
			return nil, fmt.Errorf("retry %d of %s: %w (last failure: %w)", n, fn.Name, werr, err)
		}
		retry := t
		retry.Metadata = maps.Clone(t.Metadata)
		if retry.Metadata == nil {
			retry.Metadata = map[string]any{}
		}
		retry.Metadata["RetryContext"] = RetryContext{RetryCount: n, MaxRetryCount: policy.MaxRetryCount,
			Exception: Exception{ClassName: "System.Exception", Message: err.Error(), HResult: -2146233088}}
		res, err = iv.Invoke(ctx, fn, retry)
	}
	return res, err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
