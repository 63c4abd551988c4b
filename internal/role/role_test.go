package role

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/broker"
	"github.com/tandemhq/tandem/internal/clock"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func startManager(t *testing.T, b *broker.Broker, clk clock.Clock) *Manager {
	t.Helper()
	m := New(Options{Region: b.Region(), JS: b.JetStream(), Bucket: b.Name("role"), Clock: clk,
		Initial: State{Role: Secondary}})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()); _ = m.Shutdown(context.Background()) })
	return m
}

func startBroker(t *testing.T, dir string) *broker.Broker {
	t.Helper()
	b, err := broker.Start(context.Background(), broker.Options{Region: "east", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	return b
}

func TestEpochRules(t *testing.T) {
	lease := t0.Add(10 * time.Second)
	steps := []struct {
		name    string
		req     Request
		wantErr error
		want    Role
		epoch   uint64
	}{
		{"promote at epoch 1", Request{Role: Primary, Epoch: 1, LeaseUntil: lease}, nil, Primary, 1},
		{"renew same epoch", Request{Role: Primary, Epoch: 1, LeaseUntil: lease.Add(time.Second)}, nil, Primary, 1},
		{"step down same epoch", Request{Role: Secondary, Epoch: 1}, nil, Secondary, 1},
		{"re-promote same epoch refused", Request{Role: Primary, Epoch: 1, LeaseUntil: lease}, ErrStaleEpoch, Secondary, 1},
		{"newer epoch promotes", Request{Role: Primary, Epoch: 3, LeaseUntil: lease}, nil, Primary, 3},
		{"older epoch refused", Request{Role: Secondary, Epoch: 2}, ErrStaleEpoch, Primary, 3},
	}
	m := startManager(t, startBroker(t, t.TempDir()), clock.NewFake(t0))
	for _, s := range steps {
		got, err := m.Apply(context.Background(), s.req)
		if !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: err %v, want %v", s.name, err, s.wantErr)
		}
		if got.Role != s.want || got.Epoch != s.epoch {
			t.Fatalf("%s: got %s@%d, want %s@%d", s.name, got.Role, got.Epoch, s.want, s.epoch)
		}
	}
}

func TestPrimaryIsKnown(t *testing.T) {
	m := startManager(t, startBroker(t, t.TempDir()), clock.NewFake(t0))
	s, err := m.Apply(context.Background(), Request{Role: Secondary, Epoch: 4, Primary: "west"})
	if err != nil || s.Primary != "west" {
		t.Fatalf("secondary: %+v %v", s, err)
	}
	if s, _ = m.Apply(context.Background(), Request{Role: Secondary, Epoch: 4}); s.Primary != "west" {
		t.Fatalf("renewal forgot the primary: %+v", s)
	}
	if s, _ = m.Apply(context.Background(), Request{Role: Primary, Epoch: 5, LeaseUntil: t0.Add(time.Minute)}); s.Primary != "east" || s.PrevPrimary != "west" {
		t.Fatalf("primary names itself and the primary before it: %+v", s)
	}
}

func TestLeaseBoundsActive(t *testing.T) {
	clk := clock.NewFake(t0)
	m := startManager(t, startBroker(t, t.TempDir()), clk)
	if m.Active() {
		t.Fatal("initial secondary is active")
	}
	if _, err := m.Apply(context.Background(), Request{Role: Primary, Epoch: 1, LeaseUntil: t0.Add(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if !m.Active() {
		t.Fatal("primary with lease not active")
	}
	clk.Advance(5 * time.Second)
	if m.Active() {
		t.Fatal("primary active after its lease ran out")
	}
}

func TestStateSurvivesRestartAndReachesOtherNodes(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	clk := clock.NewFake(t0)
	a, other := startManager(t, b, clk), startManager(t, b, clk)
	seen := make(chan State, 4)
	other.Subscribe(func(s State) { seen <- s })
	if _, err := a.Apply(context.Background(), Request{Role: Primary, Epoch: 7, LeaseUntil: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-seen:
		if s.Epoch != 7 {
			t.Fatalf("other node saw epoch %d", s.Epoch)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("other node never saw the change")
	}
	// A node with a stale view still cannot win: CAS reloads and refuses.
	if _, err := other.Apply(context.Background(), Request{Role: Primary, Epoch: 6, LeaseUntil: t0.Add(time.Minute)}); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("stale apply: %v", err)
	}
	b.Shutdown()
	m := startManager(t, startBroker(t, dir), clk)
	if s := m.State(); s.Epoch != 7 || s.Role != Primary {
		t.Fatalf("after restart: %+v", s)
	}
}

func TestAdminHTTP(t *testing.T) {
	m := startManager(t, startBroker(t, t.TempDir()), clock.NewFake(t0))
	mux := http.NewServeMux()
	m.RegisterAdmin(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cases := []struct {
		body string
		code int
	}{
		{`{"role":"primary","epoch":2,"leaseUntil":"2026-11-23T12:00:10Z"}`, 200},
		{`{"role":"secondary","epoch":1}`, 409},
		{`{"role":"boss","epoch":3}`, 400},
		{`{"role":"primary","epoch":3}`, 400},
		{`{"role":"primary","epoch":3,"leaseUntil":"x"}`, 400},
		{`not json`, 400},
	}
	for _, c := range cases {
		resp, err := http.Post(srv.URL+"/admin/role", "application/json", bytes.NewBufferString(c.body))
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s: status %d want %d (%v)", c.body, resp.StatusCode, c.code, body)
		}
	}
	resp, err := http.Get(srv.URL + "/admin/role")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s State
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || s.Epoch != 2 || s.Role != Primary {
		t.Fatalf("GET: %+v %v", s, err)
	}
}

func TestTermsRecordEveryPrimaryEpoch(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	steps := []struct {
		cur, next State
		now       int
		want      []Term
	}{
		{State{}, State{Role: Primary, Epoch: 1, LeaseUntil: at(5)}, 1,
			[]Term{{Epoch: 1, Since: at(1), LeaseUntil: at(5)}}},
		{State{Role: Primary, Epoch: 1, Terms: []Term{{Epoch: 1, Since: at(1), LeaseUntil: at(5)}}},
			State{Role: Primary, Epoch: 1, LeaseUntil: at(7)}, 3,
			[]Term{{Epoch: 1, Since: at(1), LeaseUntil: at(7)}}},
		{State{Role: Primary, Epoch: 1, Terms: []Term{{Epoch: 1, Since: at(1), LeaseUntil: at(7)}}},
			State{Role: Secondary, Epoch: 1}, 4,
			[]Term{{Epoch: 1, Since: at(1), LeaseUntil: at(7), Ended: at(4)}}},
		{State{Role: Secondary, Epoch: 1, Terms: []Term{{Epoch: 1, Since: at(1), LeaseUntil: at(7), Ended: at(4)}}},
			State{Role: Primary, Epoch: 3, LeaseUntil: at(12)}, 9,
			[]Term{{Epoch: 1, Since: at(1), LeaseUntil: at(7), Ended: at(4)}, {Epoch: 3, Since: at(9), LeaseUntil: at(12)}}},
	}
	for i, st := range steps {
		got := nextTerms(st.cur, st.next, at(st.now))
		if !reflect.DeepEqual(got, st.want) {
			t.Fatalf("step %d: terms %+v, want %+v", i, got, st.want)
		}
	}
	if end := (Term{LeaseUntil: at(7), Ended: at(4)}).End(); !end.Equal(at(4)) {
		t.Fatalf("a stepped-down term ends at the step-down: %v", end)
	}
}

// TestLateRenewalDoesNotShortenLease: a renewal that arrives after a newer
// one (a traffic manager hung between deciding and sending) leaves the
// longer lease in place; a step-down still ends it.
func TestLateRenewalDoesNotShortenLease(t *testing.T) {
	clk := clock.NewFake(t0)
	m := startManager(t, startBroker(t, t.TempDir()), clk)
	ctx := context.Background()
	for _, until := range []time.Time{t0.Add(10 * time.Second), t0.Add(-time.Second), t0.Add(5 * time.Second)} {
		if _, err := m.Apply(ctx, Request{Role: Primary, Epoch: 1, LeaseUntil: until}); err != nil {
			t.Fatal(err)
		}
		if got := m.State().LeaseUntil; !got.Equal(t0.Add(10 * time.Second)) {
			t.Fatalf("after a renewal until %v the lease runs until %v", until, got)
		}
	}
	if _, err := m.Apply(ctx, Request{Role: Secondary, Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	if m.Active() {
		t.Fatal("active after stepping down")
	}
}
