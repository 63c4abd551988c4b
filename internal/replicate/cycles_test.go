package replicate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/table"
)

// cycleRegion is one side of the planned-switch cycles: its services are
// recreated at each role change, as a region does.
type cycleRegion struct {
	r      *region
	mirror *Mirrorer
}

// becomePrimary promotes the mirrors of old (if following it), then
// declares storage as a primary's services do.
func (c *cycleRegion) becomePrimary(t *testing.T, old string) {
	t.Helper()
	ctx := testCtx(t)
	if c.mirror != nil {
		if _, err := c.mirror.Promote(ctx); err != nil {
			t.Fatalf("%s promote: %v", c.r.name, err)
		}
		c.mirror = nil
	}
	q, tb := newQueues(t, c.r.b, nil), newTables(t, c.r.b)
	if err := q.Declare(ctx, "app", "orders"); err != nil {
		t.Fatalf("%s declare queue: %v", c.r.name, err)
	}
	if _, err := tb.EnsureAccount(ctx, "app"); err != nil {
		t.Fatalf("%s account: %v", c.r.name, err)
	}
	if err := tb.EnsureTable(ctx, "app", "Customers"); err != nil {
		t.Fatalf("%s table: %v", c.r.name, err)
	}
}

// becomeSecondary rescues, reseeds (when it was primary) and follows.
func (c *cycleRegion) becomeSecondary(t *testing.T, primary string, wasPrimary bool) {
	t.Helper()
	ctx := testCtx(t)
	if wasPrimary {
		rescued, err := RescueTail(ctx, RescueOptions{Broker: c.r.b, NewPrimary: primary, Logger: quiet})
		if err != nil {
			t.Fatalf("%s rescue: %v", c.r.name, err)
		}
		if _, err := Reseed(ctx, ReseedOptions{Broker: c.r.b, NewPrimary: primary, Rescued: rescued, Logger: quiet}); err != nil {
			t.Fatalf("%s reseed: %v", c.r.name, err)
		}
	}
	c.mirror = startMirrorer(t, Options{Broker: c.r.b, Primary: primary})
	waitFor(t, c.r.name+" following "+primary, c.mirror.Ready)
}

// TestPlannedSwitchCycles switches the primary back and forth with writes
// in between; every message and entity written survives every switch.
func TestPlannedSwitchCycles(t *testing.T) {
	east, west := startPair(t)
	regions := map[string]*cycleRegion{"east": {r: east}, "west": {r: west}}
	regions["east"].becomePrimary(t, "")
	regions["west"].becomeSecondary(t, "east", false)
	primary, n := "east", 0
	for cycle := 0; cycle < 4; cycle++ {
		p := regions[primary]
		q, tb := newQueues(t, p.r.b, nil), newTables(t, p.r.b)
		for i := 0; i < 3; i++ {
			n++
			if _, err := q.Enqueue(testCtx(t), "app", "orders", []byte(fmt.Sprint(n))); err != nil {
				t.Fatalf("cycle %d: enqueue in %s: %v", cycle, primary, err)
			}
			e := table.Entity{PartitionKey: "p", RowKey: fmt.Sprint(n), Properties: map[string]table.Value{}}
			if _, err := tb.Insert(testCtx(t), "app", "Customers", e); err != nil {
				t.Fatalf("cycle %d: insert in %s: %v", cycle, primary, err)
			}
		}
		next := map[string]string{"east": "west", "west": "east"}[primary]
		waitMirrored(t, p.r, regions[next].r, rename(broker_Q(primary), primary, next), rename("KV_"+primary+"_T_app_customers", primary, next))
		regions[next].becomePrimary(t, primary)
		regions[primary].becomeSecondary(t, next, true)
		primary = next
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	if got, _ := newQueues(t, regions[primary].r.b, nil).Len(ctx, "app", "orders"); got != uint64(n) {
		t.Errorf("after the cycles %s holds %d messages, want %d", primary, got, n)
	}
}

func broker_Q(region string) string { return region + "_Q_app_orders" }
