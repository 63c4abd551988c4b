package replicate

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandemhq/tandem/internal/clock"
)

// TestLagFromOriginState checks the lag arithmetic against a real origin
// stream (for the age of the oldest missing message) and a fake clock.
func TestLagFromOriginState(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	q := newQueues(t, east.b, nil)
	for i := 0; i < 5; i++ {
		if _, err := q.Enqueue(ctx, "app", "orders", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	st, err := east.b.JetStream().Stream(ctx, "east_Q_app_orders")
	if err != nil {
		t.Fatal(err)
	}
	origin := st.CachedInfo()
	third, err := st.GetMsg(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	fake := clock.NewFake(third.Time.Add(2500 * time.Millisecond))
	m, err := New(Options{Broker: west.b, Primary: "east", Clock: fake, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	local := func(last uint64, lag uint64, active time.Duration) *jetstream.StreamInfo {
		return &jetstream.StreamInfo{
			Config: jetstream.StreamConfig{Name: "west_Q_app_orders", Mirror: &jetstream.StreamSource{Name: "east_Q_app_orders"}},
			State:  jetstream.StreamState{LastSeq: last},
			Mirror: &jetstream.StreamSourceInfo{Name: "east_Q_app_orders", Lag: lag, Active: active},
		}
	}
	tests := []struct {
		name        string
		local       *jetstream.StreamInfo
		origin      *jetstream.StreamInfo
		wantMsgs    uint64
		wantSecs    float64
		wantContact float64
		healthy     bool
	}{
		{"caught up", local(5, 0, time.Second), origin, 0, 0, 1, true},
		{"two behind: age of the third message", local(2, 0, 3*time.Second), origin, 3, 2.5, 3, true},
		{"primary unreachable: mirror's own lag", local(2, 7, 4*time.Second), nil, 7, 0, 4, true},
		{"never active", local(0, 0, -1), nil, 0, 0, -1, false},
		{"no word for a while", local(5, 0, 30*time.Second), origin, 0, 0, 30, false},
		{"local missing", nil, origin, 0, 0, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mr := &mirror{local: "west_Q_app_orders", origin: "east_Q_app_orders", kind: KindQueue}
			ms := m.mirrorStatus(ctx, mr, tt.local, tt.origin, fake.Now())
			if ms.LagMessages != tt.wantMsgs || ms.LagSeconds != tt.wantSecs || ms.LastContactSeconds != tt.wantContact || ms.Healthy() != tt.healthy {
				t.Fatalf("got msgs %d secs %v contact %v healthy %v (err %q), want %d %v %v %v",
					ms.LagMessages, ms.LagSeconds, ms.LastContactSeconds, ms.Healthy(), ms.Error, tt.wantMsgs, tt.wantSecs, tt.wantContact, tt.healthy)
			}
		})
	}
}

func TestUnreachablePrimaryShowsInStatus(t *testing.T) {
	east, west := startPair(t)
	if _, err := newQueues(t, east.b, nil).Enqueue(testCtx(t), "app", "orders", []byte("x")); err != nil {
		t.Fatal(err)
	}
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	waitFor(t, "caught up", func() bool { return caughtUp(m.Status(), 1) })
	east.b.Shutdown()
	waitFor(t, "primary reported unreachable", func() bool {
		s := m.Status()
		return !s.PrimaryReachable && len(s.Errors) > 0 && len(s.Mirrors) == 1
	})
	if s := m.Status(); s.Mirrors[0].LastSeq != 1 {
		t.Fatalf("mirror lost data: %+v", s.Mirrors[0])
	}
}
