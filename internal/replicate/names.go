package replicate

import (
	"strings"

	"github.com/tandemhq/tandem/internal/broker"
)

// Kind says what a replicated stream holds.
type Kind string

// Kinds of replicated streams.
const (
	KindQueue    Kind = "queue"    // <region>_Q_<app>_<queue>
	KindTable    Kind = "table"    // KV <region>_T_<app>_<table>
	KindCatalog  Kind = "catalog"  // KV <region>_TC
	KindAccounts Kind = "accounts" // KV <region>_TA
	KindTimers   Kind = "timers"   // KV <region>_timers (schedule status)
	KindProgress Kind = "progress" // KV <region>_progress (queue progress)
	KindBlob     Kind = "blob"     // object store <region>_B_<app>_<container>
	KindReceipts Kind = "receipts" // KV <region>_blobreceipts (blob trigger receipts)
)

const (
	kvPrefix  = "KV_"
	objPrefix = "OBJ_" // the stream of an object store bucket
)

// ProgressBucket is the KV bucket holding a region's queue progress.
func ProgressBucket(region string) string { return broker.Name(region, "progress") }

// TimerBucket is the KV bucket holding a region's timer schedule status.
func TimerBucket(region string) string { return broker.Name(region, "timers") }

// ReceiptBucket is the KV bucket holding a region's blob trigger receipts
// (internal/blobtrigger).
func ReceiptBucket(region string) string { return broker.Name(region, "blobreceipts") }

// kvStream is the stream behind a KV bucket.
func kvStream(bucket string) string { return kvPrefix + bucket }

// classify reports whether stream belongs to region's namespace and is
// replicated, and what it holds. Region-local state (timer leases, role)
// and state replicated by rules (keys, settings) is not.
func classify(region, stream string) (Kind, bool) {
	if rest, ok := strings.CutPrefix(stream, region+"_Q_"); ok {
		return KindQueue, validQueueRest(rest)
	}
	if rest, ok := strings.CutPrefix(stream, objPrefix+region+"_B_"); ok {
		return KindBlob, validQueueRest(rest)
	}
	bucket, ok := strings.CutPrefix(stream, kvPrefix+region+"_")
	if !ok {
		return "", false
	}
	switch {
	case bucket == "TC":
		return KindCatalog, true
	case bucket == "TA":
		return KindAccounts, true
	case bucket == "timers":
		return KindTimers, true
	case bucket == "progress":
		return KindProgress, true
	case bucket == "blobreceipts":
		return KindReceipts, true
	case strings.HasPrefix(bucket, "T_") && validQueueRest(bucket[2:]):
		return KindTable, true
	}
	return "", false
}

// validQueueRest checks "<app>_<name>": two non-empty parts.
func validQueueRest(rest string) bool {
	app, name, ok := strings.Cut(rest, "_")
	return ok && app != "" && name != "" && !strings.Contains(name, "_")
}

// queueOf returns the app and queue of a queue stream of region.
func queueOf(region, stream string) (app, queue string, ok bool) {
	rest, ok := strings.CutPrefix(stream, region+"_Q_")
	if !ok {
		return "", "", false
	}
	app, queue, ok = strings.Cut(rest, "_")
	return app, queue, ok && app != "" && queue != ""
}

// rename maps a stream name from region from's namespace to region to's:
// east_Q_app_orders -> west_Q_app_orders, KV_east_TC -> KV_west_TC.
func rename(stream, from, to string) string {
	if rest, ok := strings.CutPrefix(stream, kvPrefix+from+"_"); ok {
		return kvPrefix + to + "_" + rest
	}
	if rest, ok := strings.CutPrefix(stream, objPrefix+from+"_"); ok {
		return objPrefix + to + "_" + rest
	}
	if rest, ok := strings.CutPrefix(stream, from+"_"); ok {
		return to + "_" + rest
	}
	return stream
}

// mapSubject maps a subject (or subject filter) from region from's
// namespace to region to's; ok is false for subjects outside it.
func mapSubject(subject, from, to string) (string, bool) {
	if rest, ok := strings.CutPrefix(subject, "tandem."+from+"."); ok {
		return "tandem." + to + "." + rest, true
	}
	if rest, ok := strings.CutPrefix(subject, "$KV."+from+"_"); ok {
		return "$KV." + to + "_" + rest, true
	}
	if rest, ok := strings.CutPrefix(subject, "$O."+from+"_"); ok {
		return "$O." + to + "_" + rest, true
	}
	return "", false
}

// notifyPrefix is where a mirror in region local republishes the headers
// of each message it stores from origin: the sync-mode acknowledgement.
func notifyPrefix(local, origin string) string {
	return broker.Subject(local, "repl", origin)
}

// progressKey is the key of a queue's progress record. It names the queue,
// not the region, so it stays valid in a promoted mirror.
func progressKey(app, queue string) string { return "q." + app + "." + queue }

// promotedKey is the key of a promoted stream's promotion record.
func promotedKey(stream string) string { return "promoted." + stream }

// regionOf returns the region prefix of a stream name in a region's
// namespace ("west" for west_Q_a_b and KV_west_TC).
func regionOf(stream string) string {
	stream = strings.TrimPrefix(strings.TrimPrefix(stream, kvPrefix), objPrefix)
	region, _, _ := strings.Cut(stream, "_")
	return region
}
