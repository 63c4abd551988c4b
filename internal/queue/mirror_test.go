package queue

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// mirroredQueue makes east_Q_app_jobs a mirror (in the same server) of a
// work queue holding six messages, as a secondary's queue stream is a
// mirror of the primary's: it keeps every message, processed or not.
func mirroredQueue(t *testing.T, s *Service) {
	t.Helper()
	ctx := testCtx(t)
	js := s.opts.Broker.JetStream()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "origin", Subjects: []string{"src.jobs"}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		if _, err := js.Publish(ctx, "src.jobs", []byte(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: s.StreamName("app", "jobs"), Mirror: &jetstream.StreamSource{
		Name: "origin", SubjectTransforms: []jetstream.SubjectTransformConfig{{Source: "src.jobs", Destination: s.Subject("app", "jobs")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mirror holds six messages", func() bool {
		n, err := s.Len(ctx, "app", "jobs")
		return err == nil && n == 6
	})
}

// TestMirroredQueueLeavesOutProcessed: Len, Peek and List on a mirrored
// queue leave out what the progress record says the primary processed.
func TestMirroredQueueLeavesOutProcessed(t *testing.T) {
	var floor uint64
	var acked [][2]uint64
	s := newService(t, Options{Processed: func(context.Context, string, string) (uint64, [][2]uint64, error) {
		return floor, acked, nil
	}})
	mirroredQueue(t, s)
	cases := []struct {
		name  string
		floor uint64
		acked [][2]uint64
		want  []string
	}{
		{"nothing processed", 0, nil, []string{"m1", "m2", "m3", "m4", "m5", "m6"}},
		{"floor", 2, nil, []string{"m3", "m4", "m5", "m6"}},
		{"floor and out-of-order acks", 1, [][2]uint64{{3, 4}, {6, 6}}, []string{"m2", "m5"}},
		{"everything", 6, nil, nil},
		{"floor beyond the mirror", 9, nil, nil},
	}
	ctx := testCtx(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			floor, acked = c.floor, c.acked
			n, err := s.Len(ctx, "app", "jobs")
			if err != nil || n != uint64(len(c.want)) {
				t.Fatalf("Len = %d, %v; want %d", n, err, len(c.want))
			}
			msgs, err := s.Peek(ctx, "app", "jobs", MaxPeek)
			var got []string
			for _, m := range msgs {
				got = append(got, string(m.Text))
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("Peek = %q, %v; want %q", got, err, c.want)
			}
			list, err := s.List(ctx, "app")
			if err != nil || len(list) != 1 || list[0].Name != "jobs" || list[0].Length != uint64(len(c.want)) {
				t.Fatalf("List = %+v, %v", list, err)
			}
		})
	}
}
