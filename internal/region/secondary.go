package region

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/gateway"
	"github.com/tandemhq/tandem/internal/replicate"
	"github.com/tandemhq/tandem/internal/role"
)

// A secondary answers reads from its own replica (the mirrors in its own
// namespace) and says how stale it may be; it refuses writes with 503,
// Retry-After and the primary's name (ARCHITECTURE.md, "Reads and writes
// in a secondary").

// Headers every response of a secondary carries.
const (
	// HeaderReplicaOf names the primary region this replica follows.
	HeaderReplicaOf = "X-Tandem-Replica-Of"
	// HeaderReplicaLag bounds the replica's staleness as a Go duration
	// ("1.25s"): every write the primary acknowledged at least that long
	// before this response is in the replica. "unknown" while the mirrors
	// are not ready or the primary was never heard from.
	HeaderReplicaLag = "X-Tandem-Replica-Lag"
	// HeaderReplicaLagMessages is how many of the primary's stored
	// messages and entity writes the mirrors lacked at their last poll.
	HeaderReplicaLagMessages = "X-Tandem-Replica-Lag-Messages"
)

// NotPrimaryRetryAfter is the Retry-After of a refused write.
const NotPrimaryRetryAfter = time.Second

// NotPrimaryError refuses a write in a region that is not the active,
// promoted primary: at once in a secondary whose primary answers, after
// WriteHold in any other region that did not become writable (fenced,
// still promoting, or a standby whose primary is gone). It unwraps to
// ErrNotPrimary and carries status 503 and Retry-After for the gateway,
// the table endpoint and the admin API.
type NotPrimaryError struct {
	Region  string
	Role    role.Role
	Epoch   uint64
	Primary string        // the primary the role names ("" if none)
	Held    time.Duration // how long the write waited (0: refused at once)
}

func (e *NotPrimaryError) Error() string {
	if e.Role == role.Secondary && e.Primary != e.Region {
		held := ""
		if e.Held > 0 {
			held = fmt.Sprintf(" (the write was held %s)", e.Held)
		}
		return fmt.Sprintf("%v: region %s is a secondary of %s at epoch %d%s; send writes to the primary region %s",
			ErrNotPrimary, e.Region, orNone(e.Primary), e.Epoch, held, orNone(e.Primary))
	}
	return fmt.Sprintf("%v: region %s is %s at epoch %d but not writable after %s (lease lapsed or promotion unfinished); primary: %s",
		ErrNotPrimary, e.Region, e.Role, e.Epoch, e.Held, orNone(e.Primary))
}

// PrimaryRegion is the primary the role names ("" if none): the gateway
// names it on the refusal (gateway.PrimaryHeader).
func (e *NotPrimaryError) PrimaryRegion() string {
	if e.Primary == e.Region {
		return ""
	}
	return e.Primary
}

// Unwrap makes errors.Is(err, ErrNotPrimary) true.
func (e *NotPrimaryError) Unwrap() error { return ErrNotPrimary }

// HTTPStatus is 503 Service Unavailable.
func (e *NotPrimaryError) HTTPStatus() int { return http.StatusServiceUnavailable }

// RetryAfter is NotPrimaryRetryAfter.
func (e *NotPrimaryError) RetryAfter() time.Duration { return NotPrimaryRetryAfter }

func (r *Region) notPrimary(s role.State, held time.Duration) *NotPrimaryError {
	return &NotPrimaryError{Region: r.opts.Name, Role: s.Role, Epoch: s.Epoch, Primary: s.Primary, Held: held}
}

// isSecondary reports whether the region's role is secondary.
func (r *Region) isSecondary() bool { return r.role.State().Role == role.Secondary }

// roleSettled reports that the region is not in the middle of becoming
// primary: a secondary, or a primary whose promotion finished (a fenced
// primary counts as settled: its data is its own).
func (r *Region) roleSettled() bool {
	s := r.role.State()
	return s.Role != role.Primary || r.writable() || !s.ActiveAt(r.opts.Clock.Now())
}

// ReplicaLag is what a secondary reports about its replica's staleness
// (GET /healthz "replica", and the X-Tandem-Replica-* headers).
type ReplicaLag struct {
	Primary string `json:"primary"`
	// Known is false while the mirrors are not ready or the primary was
	// never heard from: the replica may then be arbitrarily stale.
	Known bool `json:"known"`
	// Bound: every write the primary acknowledged at least this long ago
	// is in the replica (the oldest missing write's age at the last poll,
	// plus the time since that poll began; the time since last contact
	// when the primary is unreachable). Seconds in JSON.
	Bound       time.Duration `json:"-"`
	BoundSecs   float64       `json:"lagSeconds"`
	LagMessages uint64        `json:"lagMessages"`
}

// replicaLag is the lag of the replica this region reads from; ok is
// false when it reads its own data. A secondary reads its mirrors (lag
// "unknown" while it has none yet, e.g. mid-rejoin), and so does a region
// named primary until its promotion ends.
func (r *Region) replicaLag() (ReplicaLag, bool) {
	if r.repl == nil || r.writable() {
		return ReplicaLag{}, false
	}
	st := r.repl.status()
	if st.Mirrors == nil && !r.isSecondary() {
		return ReplicaLag{}, false // a fenced primary reads its own data
	}
	if st.Mirrors == nil {
		return ReplicaLag{Primary: r.role.State().Primary}, true // lag unknown
	}
	return lagOf(*st.Mirrors, r.opts.Clock.Now()), true
}

// lagOf bounds a mirror status's staleness at now (see ReplicaLag.Bound).
func lagOf(st replicate.Status, now time.Time) ReplicaLag {
	lag := ReplicaLag{Primary: st.Primary}
	if !st.Ready || st.Updated.IsZero() || len(st.Mirrors) == 0 {
		return lag
	}
	var secs float64
	for _, m := range st.Mirrors {
		if !m.Healthy() {
			return lag // missing, erring or not in contact: its lag is not known
		}
		lag.LagMessages += m.LagMessages
		secs = max(secs, m.LagSeconds)
		if !st.PrimaryReachable {
			if m.LastContactSeconds < 0 {
				return lag
			}
			secs = max(secs, m.LastContactSeconds)
		}
	}
	lag.Known = true
	ref := st.Polled // everything stored before it was in the caught-up mirrors
	if ref.IsZero() {
		ref = st.Updated
	}
	lag.Bound = time.Duration(secs*float64(time.Second)) + max(0, now.Sub(ref))
	lag.BoundSecs = lag.Bound.Seconds()
	return lag
}

// replicaHeaders marks every response of a secondary with its primary
// and its lag.
func (r *Region) replicaHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if lag, ok := r.replicaLag(); ok {
			h := w.Header()
			h.Set(HeaderReplicaOf, lag.Primary)
			h.Set(HeaderReplicaLag, "unknown")
			if lag.Known {
				h.Set(HeaderReplicaLag, lag.Bound.Round(time.Millisecond).String())
			}
			h.Set(HeaderReplicaLagMessages, strconv.FormatUint(lag.LagMessages, 10))
		}
		next.ServeHTTP(w, req)
	})
}

// gateAdminWrites holds or refuses admin writes to replicated data (queue
// messages, tables) as awaitWritable does; settings, keys and the role are
// the region's own and pass.
func (r *Region) gateAdminWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if replicatedWrite(req) {
			if err := r.awaitWritable(req.Context()); err != nil {
				writeRefusal(w, r.role.State(), err)
				return
			}
		}
		next.ServeHTTP(w, req)
	})
}

// replicatedWrite: a write under /admin/apps/<app>/queues/ or /tables/.
func replicatedWrite(req *http.Request) bool {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return false
	}
	rest, ok := strings.CutPrefix(req.URL.Path, "/admin/apps/")
	if !ok {
		return false
	}
	_, rest, _ = strings.Cut(rest, "/")
	return strings.HasPrefix(rest, "queues/") || strings.HasPrefix(rest, "tables/") || rest == "tables"
}

func writeRefusal(w http.ResponseWriter, s role.State, err error) {
	w.Header().Set("Retry-After", strconv.Itoa(int(NotPrimaryRetryAfter/time.Second)))
	w.Header().Set(gateway.RefusedHeader, "not-primary")
	if s.Primary != "" {
		w.Header().Set(gateway.PrimaryHeader, s.Primary)
	}
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error(), "primary": s.Primary})
}
