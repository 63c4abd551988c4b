package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Outcome classifies one attempt.
type Outcome int

// The outcomes of an attempt.
const (
	OK         Outcome = iota // a response that is not 502/503/504
	NotSent                   // never left: connect refused, connect timeout
	NoResponse                // sent, then the connection closed or reset
	Timeout                   // sent, no response headers in time
	BadStatus                 // 502, 503 or 504 from the endpoint
	Canceled                  // the client went away
	// Refused is a 503 carrying RefusedHeader: the endpoint did nothing
	// (a secondary region refusing a write). Like NotSent it may go to the
	// next endpoint whatever the method; unlike it, the endpoint is healthy.
	Refused
)

// PrimaryHeader names, on a region's refusal, the primary region that
// region follows (region.HeaderReplicaOf): where the refused write
// belongs, which the Picker may not know yet in the middle of a switch.
const PrimaryHeader = "X-Tandem-Replica-Of"

// RefusedHeader is set by a region on a 503 it answered before running or
// writing anything: a secondary refusing a write (the body names the
// primary). gateway.RefusedHeader and table.RefusedHeader are the same.
const RefusedHeader = "X-Tandem-Refused"

func (o Outcome) String() string {
	return [...]string{"ok", "not-sent", "no-response", "timeout", "bad-status", "canceled", "refused"}[o]
}

// Failed reports whether the outcome counts against the endpoint.
func (o Outcome) Failed() bool { return o != OK && o != Canceled && o != Refused }

// Retryable is the retry rule: may a request with these properties go to
// the next endpoint after outcome o? replayable means its body (if any) is
// buffered; bodyRead that a streamed body was already partly consumed.
func Retryable(o Outcome, idempotent, replayable, bodyRead bool) bool {
	switch o {
	case NotSent, Refused:
		return replayable || !bodyRead
	case NoResponse, Timeout, BadStatus:
		return idempotent && replayable
	default:
		return false
	}
}

// attempter sends one attempt of a request to a target and classifies it:
// the net/http path's (retrier) and the HTTP/1.1 engine's (fastAttempt),
// walked by the same rules (walk). R is the response type; its zero value
// means no response.
type attempter[R comparable] interface {
	attempt(t Target, first bool) (R, Outcome, error)
	status(R) int
	discard(R) // a response a retry replaces
}

// walk tries st's targets by the retry rules and returns the response to
// give the client (zero: none, with the last error).
func walk[R comparable](p *Proxy, st *state, a attempter[R]) (R, error) {
	var none R
	n := min(len(st.targets), p.opts.Attempts, maxRounds)
	var again uint64 // first-round targets that refused: they go round once more
	budget := n
	var lastErr error
	for i := 0; i < budget; i++ {
		t := st.targets[nextTarget(i, n, &again)]
		resp, o, err := a.attempt(t, i == 0)
		if o == Refused && i < n {
			// A refusal did nothing and came at once: it does not use up an
			// attempt, so a write refused by every region during a failover
			// (no region promoted yet) goes round once more, to the regions
			// that refused it only: one that failed (killed, hung) is not
			// tried again in place of the standby about to be promoted.
			again |= 1 << i
			budget++
		}
		last := i == budget-1
		if last && o == Refused && Retryable(o, st.idempotent, st.replayable, st.bodyRead()) {
			if fb, ok := p.fallback(st); ok {
				if fresp, _, _ := a.attempt(fb, false); fresp != none {
					a.discard(resp)
					st.served, st.status = fb.Name, a.status(fresp)
					return fresp, nil
				}
				// No answer from it either: the refusal (naming the
				// primary, with Retry-After) is the better one to give.
			}
			p.opts.Logger.Info("proxy: refused by every region tried", "hint", st.primaryHint, "attempts", st.triedText())
		}
		if o == OK || o == Canceled || !Retryable(o, st.idempotent, st.replayable, st.bodyRead()) || (last && resp != none) {
			if resp != none {
				st.served, st.status = t.Name, a.status(resp)
			}
			return resp, err
		}
		if resp != none {
			a.discard(resp)
		}
		lastErr = err
	}
	if lastErr == nil {
		lastErr = errors.New("every endpoint answered 502, 503 or 504")
	}
	return none, lastErr
}

// maxRounds bounds the targets a request walks (again is a bit mask).
const maxRounds = 64

// nextTarget is the index of the i-th attempt's target: the first n
// attempts walk the targets in order, the later ones revisit the targets
// that refused, in order, each once.
func nextTarget(i, n int, again *uint64) int {
	if i < n {
		return i
	}
	j := bits.TrailingZeros64(*again)
	*again &^= 1 << j
	return j
}

// fallback is the Picker's last resort when the last attempt was
// refused (and the request may still be sent, or the walk would have
// ended before): the first primary the Picker offers (the one the
// refusals named, then its own) that did not refuse the request already
// in this walk, nor time out on it, unless the refusal named it: a region
// refuses only while it sees the primary it names answer, so that one
// timing out was a write held while it was being promoted. One that
// failed fast (never sent, no response, a bad status) is tried again: the
// regions say it leads.
func (p *Proxy) fallback(st *state) (Target, bool) {
	f, ok := p.opts.Picker.(Fallbacker)
	if !ok {
		return Target{}, false
	}
	for _, t := range f.Fallback(st.primaryHint) {
		if !st.hadOutcome(t.Name, Refused) && (t.Name == st.primaryHint || !st.hadOutcome(t.Name, Timeout)) {
			return t, true
		}
	}
	return Target{}, false
}

// hadOutcome reports whether an attempt of this walk to the target named
// name ended with outcome o.
func (st *state) hadOutcome(name string, o Outcome) bool {
	for _, a := range st.tried {
		if a.target == name && a.outcome == o {
			return true
		}
	}
	return false
}

// triedText lists the attempts as "name:outcome" for a log line (rare:
// only a request refused everywhere).
func (st *state) triedText() string {
	parts := make([]string, len(st.tried))
	for i, a := range st.tried {
		parts[i] = a.target + ":" + a.outcome.String()
	}
	return strings.Join(parts, ",")
}

// record logs an attempt in st and reports it (not when the client went
// away).
func (p *Proxy) record(st *state, t Target, o Outcome, err error, errText string, start time.Time) {
	if err != nil {
		errText = err.Error()
	}
	st.tried = append(st.tried, attemptLog{target: t.Name, outcome: o, err: errText})
	if p.opts.Report != nil && o != Canceled {
		p.opts.Report(t, o, time.Since(start))
	}
}

// retrier is the ReverseProxy's transport: it walks the request's targets.
type retrier struct{ p *Proxy }

func (rt *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	st, _ := req.Context().Value(stateKey{}).(*state)
	if st == nil {
		return nil, errors.New("proxy: request without routing state")
	}
	return walk[*http.Response](rt.p, st, &httpAttempt{p: rt.p, req: req, st: st})
}

// httpAttempt is one request's attempts through net/http transports.
type httpAttempt struct {
	p   *Proxy
	req *http.Request
	st  *state
}

func (a *httpAttempt) status(resp *http.Response) int { return resp.StatusCode }
func (a *httpAttempt) discard(resp *http.Response)    { drain(resp) }

// attempt sends the request to t once and classifies what happened. The
// first attempt sends req itself (it is the ReverseProxy's own copy of the
// client's request, used for nothing else); a retry sends a copy, since
// the transport may still hold the previous attempt's.
func (a *httpAttempt) attempt(t Target, first bool) (*http.Response, Outcome, error) {
	req, st := a.req, a.st
	if first {
		st.path = req.URL // the client's; out.URL becomes the target's
	}
	out := req
	if !first {
		out = req.WithContext(req.Context())
	}
	out.URL = targetURL(t.URL, st.path)
	setBody(out, st)
	start := time.Now()
	resp, err := t.Transport.RoundTrip(out)
	o := classify(req.Context(), resp, err, !isDialError(err) || st.bodyRead())
	if o == Refused {
		st.primaryHint = resp.Header.Get(PrimaryHeader)
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", t.Name, err)
	}
	a.p.record(st, t, o, err, errString(nil, resp), start)
	return resp, o, err
}

// isDialError reports a failure to connect: the request never left.
func isDialError(err error) bool {
	if err == nil {
		return false // before the declaration below, which escapes: no allocation on success
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func setBody(out *http.Request, st *state) {
	switch {
	case st.buffered != nil:
		buf := st.buffered
		out.Body = io.NopCloser(bytes.NewReader(buf))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	case st.body != nil:
		out.Body = st.body
	}
}

func classify(ctx context.Context, resp *http.Response, err error, maybeSent bool) Outcome {
	if err == nil {
		return classifyStatus(resp.StatusCode, resp.Header.Get(RefusedHeader) != "")
	}
	return classifyErr(ctx.Err() != nil, err, maybeSent)
}

// classifyStatus is the outcome of a response with this status; refused:
// it carries RefusedHeader.
func classifyStatus(code int, refused bool) Outcome {
	switch {
	case code == http.StatusServiceUnavailable && refused:
		return Refused
	case isBadStatus(code):
		return BadStatus
	default:
		return OK
	}
}

// classifyErr is the outcome of an attempt that got no response.
func classifyErr(canceled bool, err error, maybeSent bool) Outcome {
	switch {
	case canceled:
		return Canceled
	case !maybeSent:
		return NotSent
	case isTimeout(err):
		return Timeout
	default:
		return NoResponse
	}
}

func isBadStatus(code int) bool {
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool } // net.Error's, and fasthttp.ErrTimeout's
	if errors.As(err, &te) && te.Timeout() {
		return true
	}
	return errors.Is(err, os.ErrDeadlineExceeded) || strings.Contains(err.Error(), "timeout awaiting response headers")
}

func errString(err error, resp *http.Response) string {
	if err != nil {
		return err.Error()
	}
	if resp != nil && isBadStatus(resp.StatusCode) {
		return resp.Status
	}
	return ""
}

func targetURL(base, in *url.URL) *url.URL {
	u := *in
	u.Scheme, u.Host = base.Scheme, base.Host
	if base.Path != "" && base.Path != "/" {
		u.Path = strings.TrimSuffix(base.Path, "/") + "/" + strings.TrimPrefix(in.Path, "/")
		u.RawPath = ""
	}
	return &u
}

// drain discards a response that will be replaced by a retry, reading a
// little so its connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	_ = resp.Body.Close()
}

// trackedBody is a streamed request body shared by the attempts: it
// records whether any byte was read and ignores Close, so an attempt that
// never connected leaves it whole for the next one.
type trackedBody struct {
	r    io.Reader
	read atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

func (b *trackedBody) Close() error { return nil }

func (st *state) bodyRead() bool { return st.body != nil && st.body.read.Load() }
