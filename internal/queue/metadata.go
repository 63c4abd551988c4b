package queue

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tandemhq/tandem/internal/hostjson"
)

// Metadata returns the queue trigger's "Metadata" object exactly as the
// Azure Functions host sends it to a custom handler (payload mode):
//
//   - DequeueCount: a string, e.g. "1" (the host serializes the long with
//     JsonConvert.SerializeObject because JObject.FromObject refuses it);
//   - Id and PopReceipt: JSON-serialized strings, so the value includes the
//     quotes, e.g. "\"0f8fad5b-...\"";
//   - ExpirationTime, InsertionTime, NextVisibleTime: DateTimeOffset values
//     to the second, "2024-05-17T16:13:45+00:00";
//   - sys: {MethodName, UtcNow ("2024-05-10T16:13:47.1756352Z", fraction
//     without trailing zeros), RandGuid};
//   - for a message that is a JSON object, each top-level property (see
//     bindingProperties), overriding a built-in key of the same name;
//   - no key ending in "trigger" (QueueTrigger is dropped: Data carries it).
//
// Values are json.RawMessage so the caller can marshal the map as is.
// DESIGN.md cites the host source and a captured payload.
func (m *Message) Metadata(methodName string, now time.Time) map[string]any {
	md := map[string]any{
		"DequeueCount":    dequeueCountJSON(m.DequeueCount),
		"ExpirationTime":  hostjson.OffsetTime(m.ExpirationTime),
		"Id":              hostjson.String(m.ID),
		"InsertionTime":   hostjson.OffsetTime(m.InsertionTime),
		"NextVisibleTime": hostjson.OffsetTime(m.NextVisibleTime),
		"PopReceipt":      hostjson.String(m.PopReceipt),
		"sys":             hostjson.Sys(methodName, now),
	}
	for _, p := range hostjson.BindingProperties(m.Body) {
		// No built-in key ends in "trigger", so only a property can.
		if !endsInTrigger(p.Name) {
			setFold(md, p.Name, p.Value)
		}
	}
	return md
}

// dequeueCountJSON is the count as a JSON string ("5").
func dequeueCountJSON(n int64) json.RawMessage {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '"')
}

// endsInTrigger reports whether key ends in "trigger", in any case: the
// host leaves such keys out of Metadata (Data carries the trigger).
func endsInTrigger(key string) bool {
	const suffix = "trigger"
	return len(key) >= len(suffix) && strings.EqualFold(key[len(key)-len(suffix):], suffix)
}

// setFold sets key the way a case-insensitive .NET dictionary does: an
// existing key that differs only in case keeps its spelling.
func setFold(md map[string]any, key string, v json.RawMessage) {
	for k := range md {
		if strings.EqualFold(k, key) {
			md[k] = v
			return
		}
	}
	md[key] = v
}

// String gives a short description for logs (never the body).
func (m *Message) String() string {
	return fmt.Sprintf("message %s seq %d dequeue %d", m.ID, m.Sequence, m.DequeueCount)
}
