package replicate

import (
	"fmt"
	"testing"
)

// TestQueueMetadataSetLaterReachesTheStandby: metadata set on a queue after
// its mirror exists reaches the mirror (a mirror copies its origin's
// metadata only when created), and the promoted queue answers it.
func TestQueueMetadataSetLaterReachesTheStandby(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	qe := newQueues(t, east.b, nil)
	startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	if _, err := qe.CreateQueue(ctx, "app", "orders", map[string]string{"owner": "ada", "stale": "x"}); err != nil {
		t.Fatal(err)
	}
	waitMirrored(t, east, west, "west_Q_app_orders")
	if err := qe.SetMetadata(ctx, "app", "orders", map[string]string{"owner": "grace", "team": "ops"}); err != nil {
		t.Fatal(err)
	}
	want := "map[azure.meta.owner:grace azure.meta.team:ops]"
	waitFor(t, "west's mirror to carry the new metadata", func() bool {
		info := streamNames(t, west.b.JetStream())["west_Q_app_orders"]
		return info != nil && info.Config.Mirror != nil && fmt.Sprint(appMeta(info.Config.Metadata)) == want
	})

	east.b.Shutdown()
	if _, err := Promote(ctx, PromoteOptions{Broker: west.b, Primary: "east", Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	props, err := newQueues(t, west.b, nil).GetProperties(ctx, "app", "orders")
	if err != nil || fmt.Sprint(props.Metadata) != "map[owner:grace team:ops]" {
		t.Fatalf("promoted queue's metadata %v (%v), want owner grace and team ops", props.Metadata, err)
	}
}
