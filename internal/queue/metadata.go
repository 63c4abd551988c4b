package queue

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
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
		"DequeueCount":    json.RawMessage(strconv.Quote(strconv.FormatInt(m.DequeueCount, 10))),
		"ExpirationTime":  offsetTime(m.ExpirationTime),
		"Id":              quoteRaw(m.ID),
		"InsertionTime":   offsetTime(m.InsertionTime),
		"NextVisibleTime": offsetTime(m.NextVisibleTime),
		"PopReceipt":      quoteRaw(m.PopReceipt),
		"sys":             sysData(methodName, now),
	}
	for _, p := range bindingProperties(m.Body) {
		setFold(md, p.name, p.value)
	}
	for k := range md {
		if strings.HasSuffix(strings.ToLower(k), "trigger") {
			delete(md, k)
		}
	}
	return md
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

// offsetTime prints a DateTimeOffset as Json.NET does after the host's
// DateTimeOffset.Parse(value.ToString()) round trip: whole seconds, UTC
// offset spelled +00:00.
func offsetTime(t time.Time) json.RawMessage {
	s := t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05") + "+00:00"
	return json.RawMessage(strconv.Quote(s))
}

// utcNow prints a UTC DateTime as Json.NET does: up to 7 fraction digits,
// trailing zeros dropped, "Z".
func utcNow(t time.Time) string {
	return t.UTC().Truncate(100 * time.Nanosecond).Format("2006-01-02T15:04:05.9999999Z")
}

func sysData(methodName string, now time.Time) json.RawMessage {
	out, _ := json.Marshal(struct {
		MethodName string
		UtcNow     string
		RandGuid   string
	}{methodName, utcNow(now), newID()})
	return out
}

// String gives a short description for logs (never the body).
func (m *Message) String() string {
	return fmt.Sprintf("message %s seq %d dequeue %d", m.ID, m.Sequence, m.DequeueCount)
}
