package drill

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Report is what a drill measured.
type Report struct {
	Fault, Target, Failover string
	// RTO is from the fault to the earliest successful GET answered by
	// another region, among those sent after the last GET that failed.
	// SlowestGET is the longest GET sent during the fault.
	RTO, SlowestGET   time.Duration
	Requests, Failed  map[string]int // by method
	FailedDuringFault map[string]int
	// FailedSamples are a few failed requests of each method and kind
	// (answered, or never answered by the first address) with why they
	// failed, for a person chasing a failure.
	FailedSamples []string
	// FailedUnanswered are the failures of requests whose first address
	// took them and never answered (a hung or killed traffic manager): the
	// client cannot know whether they were processed, so POSTs are not
	// resent, and a PUT resent elsewhere may find its own earlier write.
	FailedUnanswered map[string]int
	MessagesAcked    int
	MessagesLost     []string
	Duplicates       int // deliveries beyond the first
	EntitiesAcked    int
	EntitiesLost     []string
	// Blobs: acknowledged writes, those whose blob trigger never ran, and
	// those it ran more than once for (each id is written once).
	BlobsAcked            int
	BlobsLost             []string
	BlobsFiredTwice       []string
	Ticks                 int
	TicksTwice            []string
	TicksMissed           int // seconds with no tick outside the two handovers
	TicksMissedAt         []string
	FaultAt, FailbackAt   time.Time
	TicksMissedInHandover int
	SyncMode              bool
	// ActiveOverlaps are pairs of terms, read from the regions' own role
	// history, in which two regions could both act as primary.
	ActiveOverlaps []string
	// Control-plane faults: the primary and epoch before and after (they
	// must not change), the deciders, and the time from the fault until
	// another traffic manager decided (-1: none did during the fault).
	Control                     bool
	PrimaryBefore, PrimaryAfter string
	EpochBefore, EpochAfter     uint64
	DeciderBefore, DeciderAfter string
	NewDecider                  time.Duration

	RunID string // the prefix of this run's ids
	// StandbyReady is from asking for the restore (for destroy: starting a
	// brand-new region) until the region was a seeded secondary; 0 when it
	// did not have to be one.
	StandbyReady time.Duration
	LagAtFault   int // the standby's lag in messages just before the fault (-1 unknown)
}

// Broken reports whether the drill found a correctness failure: a tick run
// twice, two active primaries at once, or acknowledged data lost in sync
// mode.
func (rep *Report) Broken() bool {
	return len(rep.TicksTwice) > 0 || len(rep.ActiveOverlaps) > 0 ||
		(rep.SyncMode && (len(rep.MessagesLost) > 0 || len(rep.EntitiesLost) > 0 || len(rep.BlobsLost) > 0))
}

func (r *run) report(ctx context.Context) (*Report, error) {
	st, err := r.d.status(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Fault: r.opts.Fault, Target: r.target, RunID: r.opts.RunID, StandbyReady: r.standbyReady(), LagAtFault: r.lagAtFault, SyncMode: r.d.top.Replication.AppMode(App) == "sync", FaultAt: r.fault, FailbackAt: r.back}
	recs := r.load.snapshot()
	r.countRequests(rep, recs)
	rep.RTO = r.rto(recs)
	rep.SlowestGET = r.slowest(recs)
	if err := r.settle(ctx, st.Primary, recs); err != nil {
		return nil, err
	}
	terms, err := r.d.terms(ctx)
	if err != nil {
		return nil, err
	}
	rep.ActiveOverlaps = overlaps(terms, r.start)
	if controlFault(r.opts.Fault) {
		rep.Control, rep.NewDecider = true, r.newDecider
		rep.PrimaryBefore, rep.EpochBefore, rep.DeciderBefore = r.before.Primary, r.before.Epoch, r.before.Decider
		rep.PrimaryAfter, rep.EpochAfter, rep.DeciderAfter = st.Primary, st.Epoch, st.Decider
	}
	return rep, r.countData(ctx, rep, st.Primary, recs)
}

func (r *run) countRequests(rep *Report, recs []record) {
	rep.Requests, rep.Failed, rep.FailedDuringFault, rep.FailedUnanswered = map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for _, x := range recs {
		rep.Requests[x.method]++
		if x.ok {
			continue
		}
		rep.Failed[x.method]++
		if x.lost {
			rep.FailedUnanswered[x.method]++
		}
		answered := rep.Failed[x.method] - rep.FailedUnanswered[x.method]
		if (x.lost && rep.FailedUnanswered[x.method] <= 2) || (!x.lost && answered <= 4) { // a few of each kind and method
			lost := ""
			if x.lost {
				lost = " (the first address never answered)"
			}
			rep.FailedSamples = append(rep.FailedSamples, fmt.Sprintf("%s %s sent %s, answered after %s%s: %s", x.method, x.id, x.sent.UTC().Format("15:04:05.000"), x.at.Sub(x.sent).Round(time.Millisecond), lost, x.why))
		}
		if !x.sent.Before(r.fault) && x.sent.Before(r.heal) {
			rep.FailedDuringFault[x.method]++
		}
	}
}

// rto is from the fault to the earliest successful GET answered by a
// region other than the faulted one (traffic has moved), among GETs sent
// after the last GET that failed.
func (r *run) rto(recs []record) time.Duration {
	var gets []record
	for _, x := range recs {
		if x.method == "GET" && !x.sent.Before(r.fault) && x.sent.Before(r.heal) {
			gets = append(gets, x)
		}
	}
	sort.Slice(gets, func(i, j int) bool { return gets[i].sent.Before(gets[j].sent) })
	lastFail := -1
	for i, g := range gets {
		if !g.ok {
			lastFail = i
		}
	}
	best := time.Duration(-1) // traffic never moved before the restore
	for _, g := range gets[lastFail+1:] {
		if d := g.at.Sub(r.fault); g.ok && g.region != r.target && (best < 0 || d < best) {
			best = d
		}
	}
	return best
}

// slowest is the longest GET sent during the fault.
func (r *run) slowest(recs []record) time.Duration {
	var worst time.Duration
	for _, x := range recs {
		if x.method == "GET" && !x.sent.Before(r.fault) && x.sent.Before(r.heal) {
			worst = max(worst, x.at.Sub(x.sent))
		}
	}
	return worst
}

// settle waits until every acknowledged work item has a delivery and
// every acknowledged blob a run (or the rows stop growing) so the counts
// are final.
func (r *run) settle(ctx context.Context, primary string, recs []record) error {
	want := len(acked(recs, "POST")) + len(acked(recs, methodBlob))
	last, stable := -1, 0
	deadline := time.Now().Add(r.opts.Settle)
	for time.Now().Before(deadline) && stable < 20 {
		rows, err := r.ownEntities(ctx, primary, "Deliveries")
		if err == nil {
			var fired []map[string]any
			fired, err = r.ownEntities(ctx, primary, "Fired")
			rows = append(rows, fired...)
		}
		if err != nil {
			// The region may still be finishing its promotion; try again.
			if err := sleep(ctx, 250*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		if len(rows) >= want && len(rows) == last {
			break
		}
		if len(rows) == last {
			stable++
		} else {
			stable = 0
		}
		last = len(rows)
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func acked(recs []record, method string) []string {
	var ids []string
	for _, x := range recs {
		if x.method == method && x.ok {
			ids = append(ids, x.id)
		}
	}
	return ids
}

func (r *run) countData(ctx context.Context, rep *Report, primary string, recs []record) error {
	deliveries, err := r.ownEntities(ctx, primary, "Deliveries")
	if err != nil {
		return fmt.Errorf("drill: read deliveries: %w", err)
	}
	entities, err := r.ownEntities(ctx, primary, "Entities")
	if err != nil {
		return fmt.Errorf("drill: read entities: %w", err)
	}
	fired, err := r.ownEntities(ctx, primary, "Fired")
	if err != nil {
		return fmt.Errorf("drill: read blob trigger runs: %w", err)
	}
	ticks, err := r.d.entitiesWhere(ctx, primary, "Ticks", tickKeys(r.start.Truncate(time.Second), r.end.Truncate(time.Second).Add(time.Second)))
	if err != nil {
		return fmt.Errorf("drill: read ticks: %w", err)
	}
	countMessages(rep, r.opts.RunID, acked(recs, "POST"), deliveries)
	countEntities(rep, acked(recs, "PUT"), entities)
	countBlobs(rep, r.opts.RunID, acked(recs, methodBlob), fired)
	r.countTicks(rep, ticks)
	return nil
}

func countMessages(rep *Report, run string, ackedIDs []string, rows []map[string]any) {
	seen := map[string]int{}
	for _, row := range rows {
		if job, ok := row["Job"].(string); ok && ownJob(run, job) {
			seen[job]++
		}
	}
	rep.MessagesAcked = len(ackedIDs)
	for _, id := range ackedIDs {
		if seen[id] == 0 {
			rep.MessagesLost = append(rep.MessagesLost, id)
		}
	}
	for _, n := range seen {
		rep.Duplicates += max(n-1, 0)
	}
}

func countEntities(rep *Report, ackedIDs []string, rows []map[string]any) {
	have := map[string]bool{}
	for _, row := range rows {
		if rk, ok := row["RowKey"].(string); ok {
			have[rk] = true
		}
	}
	rep.EntitiesAcked = len(ackedIDs)
	for _, id := range ackedIDs {
		if !have[id] {
			rep.EntitiesLost = append(rep.EntitiesLost, id)
		}
	}
}

// countBlobs counts the blob trigger's runs per blob (one row each): an
// acknowledged blob with none is lost, any blob of this run with more than
// one fired twice.
func countBlobs(rep *Report, run string, ackedIDs []string, rows []map[string]any) {
	runs := map[string]int{}
	for _, row := range rows {
		if id, ok := row["Blob"].(string); ok && ownJob(run, id) {
			runs[id]++
		}
	}
	rep.BlobsAcked = len(ackedIDs)
	for _, id := range ackedIDs {
		if runs[id] == 0 {
			rep.BlobsLost = append(rep.BlobsLost, id)
		}
	}
	for id, n := range runs {
		if n > 1 {
			rep.BlobsFiredTwice = append(rep.BlobsFiredTwice, id)
		}
	}
	sort.Strings(rep.BlobsFiredTwice)
}

// countTicks counts seconds with more than one run, and seconds in the
// drill with none. A second with none right after a handover (the fault,
// a switch, the failback), before the new primary's first run, is a
// handover miss, which Azure's rules allow: a schedule this frequent has
// no schedule monitor, so no past-due run.
func (r *run) countTicks(rep *Report, rows []map[string]any) {
	per := map[string][]string{}
	for _, row := range rows {
		s, _ := row["Second"].(string)
		reg, _ := row["Region"].(string)
		if s != "" {
			per[s] = append(per[s], reg)
		}
	}
	for s, regs := range per {
		if t, err := time.Parse("20060102T150405Z", s); err != nil || !r.during(t) {
			continue // another drill's, or between drills
		}
		rep.Ticks += len(regs)
		if len(regs) > 1 {
			rep.TicksTwice = append(rep.TicksTwice, s)
		}
	}
	sort.Strings(rep.TicksTwice)
	// From shortly after the load started to the end of the load.
	from, to := r.start.Add(2*time.Second).Truncate(time.Second), r.back.Add(3*time.Second).Truncate(time.Second)
	for t := from; t.Before(to); t = t.Add(time.Second) {
		if len(per[t.UTC().Format("20060102T150405Z")]) > 0 {
			continue
		}
		if r.inHandover(t, per) {
			rep.TicksMissedInHandover++
		} else {
			rep.TicksMissed++
			rep.TicksMissedAt = append(rep.TicksMissedAt, t.UTC().Format("15:04:05"))
		}
	}
}

// during reports whether second t is within this run's load: the timer
// runs between drills too, and each drill judges only its own seconds.
func (r *run) during(t time.Time) bool {
	return !t.Before(r.start.Truncate(time.Second)) && !t.After(r.end)
}

// handover is a change of primary: from at, until the region taking over
// (to, or any region but from when not known) runs the timer.
type handover struct {
	at       time.Time
	to, from string
}

func (h handover) takenOver(regs []string) bool {
	for _, reg := range regs {
		if (h.to != "" && reg == h.to) || (h.to == "" && reg != h.from) {
			return true
		}
	}
	return false
}

// inHandover: t is after a handover and the region taking over has not
// run the timer between that instant and t.
func (r *run) inHandover(t time.Time, per map[string][]string) bool {
	for _, h := range r.handovers {
		first := h.at.Truncate(time.Second).Add(time.Second)
		if t.Before(first) {
			continue
		}
		resumed := false
		for u := first; !u.After(t); u = u.Add(time.Second) {
			if h.takenOver(per[u.UTC().Format("20060102T150405Z")]) {
				resumed = true
				break
			}
		}
		if !resumed {
			return true
		}
	}
	return false
}

// Print writes the report as a person reads it.
func (rep *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nDrill report: %s of %s (run %s)\n\n", rep.Fault, rep.Target, rep.RunID)
	if rep.Control {
		rep.printControl(w)
	} else {
		fmt.Fprintf(w, "  RTO (fault to first success elsewhere) %s   slowest GET during the fault %s\n", fmtRTO(rep.RTO), rep.SlowestGET.Round(time.Millisecond))
	}
	for _, m := range []string{"GET", "POST", "PUT", methodBlob} {
		fmt.Fprintf(w, "  %-5s requests %6d   failed %4d   (during the fault %d, unanswered by the first address %d)\n",
			m, rep.Requests[m], rep.Failed[m], rep.FailedDuringFault[m], rep.FailedUnanswered[m])
	}
	if rep.LagAtFault >= 0 && rep.Fault != "failover" {
		fmt.Fprintf(w, "  standby lag just before the fault %d messages\n", rep.LagAtFault)
	}
	if rep.StandbyReady > 0 {
		fmt.Fprintf(w, "  restored %s a seeded standby %s after the restore began\n", rep.Target, rep.StandbyReady.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "  messages acknowledged %d, lost %d, delivered twice %d\n", rep.MessagesAcked, len(rep.MessagesLost), rep.Duplicates)
	fmt.Fprintf(w, "  entities acknowledged %d, lost %d\n", rep.EntitiesAcked, len(rep.EntitiesLost))
	fmt.Fprintf(w, "  blobs acknowledged %d, lost %d, fired twice %d\n", rep.BlobsAcked, len(rep.BlobsLost), len(rep.BlobsFiredTwice))
	fmt.Fprintf(w, "  timer runs %d, seconds run twice %d, missed in handovers %d, missed otherwise %d\n",
		rep.Ticks, len(rep.TicksTwice), rep.TicksMissedInHandover, rep.TicksMissed)
	for _, f := range rep.FailedSamples {
		fmt.Fprintf(w, "  failed: %s\n", f)
	}
	if len(rep.MessagesLost) > 0 {
		fmt.Fprintf(w, "  lost messages: %s\n", clip(rep.MessagesLost))
	}
	if len(rep.EntitiesLost) > 0 {
		fmt.Fprintf(w, "  lost entities: %s\n", clip(rep.EntitiesLost))
	}
	if len(rep.BlobsLost) > 0 {
		fmt.Fprintf(w, "  lost blobs: %s\n", clip(rep.BlobsLost))
	}
	if len(rep.BlobsFiredTwice) > 0 {
		fmt.Fprintf(w, "  blobs fired twice: %s\n", clip(rep.BlobsFiredTwice))
	}
	if len(rep.TicksMissedAt) > 0 {
		fmt.Fprintf(w, "  seconds missed outside handovers: %s (fault at %s, failback at %s)\n", clip(rep.TicksMissedAt), rep.FaultAt.UTC().Format("15:04:05.000"), rep.FailbackAt.UTC().Format("15:04:05.000"))
	}
	if len(rep.TicksTwice) > 0 {
		fmt.Fprintf(w, "  seconds run twice: %s\n", clip(rep.TicksTwice))
	}
	fmt.Fprintf(w, "  two active primaries at once: %d\n", len(rep.ActiveOverlaps))
	for _, o := range rep.ActiveOverlaps {
		fmt.Fprintf(w, "    %s\n", o)
	}
	mode := "async"
	if rep.SyncMode {
		mode = "sync"
	}
	fmt.Fprintf(w, "  replication mode of app %s: %s\n", App, mode)
}

func fmtRTO(d time.Duration) string {
	if d < 0 {
		return "not recovered before the restore"
	}
	return d.Round(time.Millisecond).String()
}

func clip(s []string) string {
	if len(s) > 10 {
		return strings.Join(s[:10], ", ") + fmt.Sprintf(" ... (%d)", len(s))
	}
	return strings.Join(s, ", ")
}

func (rep *Report) printControl(w io.Writer) {
	nd := "none during the fault"
	if rep.NewDecider >= 0 && rep.DeciderAfter != "" {
		nd = rep.NewDecider.Round(time.Millisecond).String()
	}
	fmt.Fprintf(w, "  primary %s@%d before, %s@%d after   decider %s before, %s after   new decider after %s\n",
		rep.PrimaryBefore, rep.EpochBefore, rep.PrimaryAfter, rep.EpochAfter, rep.DeciderBefore, rep.DeciderAfter, nd)
	fmt.Fprintf(w, "  slowest GET during the fault %s\n", rep.SlowestGET.Round(time.Millisecond))
}
