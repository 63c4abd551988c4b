package region

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/control"
	"github.com/tandemhq/tandem/internal/role"
)

// TestStepsDownOnNewerEpochFromControl: a primary that no traffic manager
// reaches learns from the control cluster that another region was made
// primary at a newer epoch, and steps down at once; the control cluster
// never makes it primary (that needs a decider's lease).
func TestStepsDownOnNewerEpochFromControl(t *testing.T) {
	node := control.NewNode(control.NodeOptions{Name: "c1", Dir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err := node.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	store, err := control.Open(ctx, control.StoreOptions{URLs: node.ClientURL()}) // as a traffic manager: creates the bucket
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	rev, err := store.SetRole(ctx, control.Role{Primary: "east", Epoch: 1, Decider: "tm1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	tr := startRegion(t, func(o *Options) {
		o.Control = node.ClientURL()
		o.Role = role.State{Role: role.Secondary}
	})
	if _, err := tr.role.Apply(ctx, role.Request{Role: role.Primary, Epoch: 1, LeaseUntil: time.Now().Add(time.Minute), Decider: "tm1"}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		primary string
		epoch   uint64
		want    string // the region's role after the step, "" when unchanged
	}{
		{"west", 2, "secondary@2"}, // proves the follower is live
		{"east", 3, ""},            // names this region: not a grant (no lease), not applied
		{"west", 4, "secondary@4"}, // in order after epoch 3: so epoch 3 was seen and ignored
	}
	var mu sync.Mutex
	var seen []uint64
	defer tr.role.Subscribe(func(s role.State) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, s.Epoch)
	})()
	for _, st := range steps {
		if rev, err = store.SetRole(ctx, control.Role{Primary: st.primary, Epoch: st.epoch, Decider: "tm2"}, rev); err != nil {
			t.Fatal(err)
		}
		if st.want == "" {
			continue
		}
		eventually(t, "east "+st.want+" from the control cluster", func() bool {
			s := tr.role.State()
			return string(s.Role)+"@"+strconv.FormatUint(s.Epoch, 10) == st.want && s.Primary == "west" && s.Decider == "control:tm2"
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if slices.Contains(seen, 3) {
		t.Fatalf("a control state naming this region was applied (epochs seen %v)", seen)
	}
}
