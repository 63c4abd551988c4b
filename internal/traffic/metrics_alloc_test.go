package traffic

import (
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/proxy"
)

// The metrics a proxied request records (its end and each attempt) cost
// no allocation once their series exist: they are on every request's path.
func TestRequestMetricsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	m := newMetrics()
	record := func() {
		m.attempt("east", proxy.OK)
		m.done("east", 200, time.Millisecond)
	}
	record()
	if n := testing.AllocsPerRun(100, record); n > 0 {
		t.Fatalf("recording a request allocates %.1f times, want 0", n)
	}
}
