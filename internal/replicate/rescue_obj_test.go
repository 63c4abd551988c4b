package replicate

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/internal/blob"
	"github.com/tandemhq/tandem/internal/broker"
)

func newBlobs(t *testing.T, b *broker.Broker) *blob.Service {
	t.Helper()
	s, err := blob.New(blob.Options{Broker: b, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func putBlob(t *testing.T, s *blob.Service, name, body string) {
	t.Helper()
	if _, _, err := s.PutBlob(testCtx(t), "app", "docs", name, strings.NewReader(body), blob.PutRequest{}); err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
}

// readBlob returns the blob's content, or "" when it does not exist.
func readBlob(t *testing.T, s *blob.Service, name string) string {
	t.Helper()
	st, b, err := s.GetBlob(testCtx(t), "app", "docs", name, blob.Conditions{})
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	if err := s.ReadBlob(testCtx(t), st, b, 0, b.Size, &buf); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return buf.String()
}

// TestFailbackRescuesBlobTail: east writes blobs west never received
// (link down), dies, west is promoted and overwrites one of them; east
// comes back and rescues its tail: its new blob, its overwrite and its
// delete reach west, west's own overwrite wins the conflict, and every
// blob west serves reads whole.
func TestFailbackRescuesBlobTail(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	be := newBlobs(t, east.b)
	m := startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	if _, err := be.CreateContainer(ctx, "app", "docs", nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"keep", "both", "gone"} {
		putBlob(t, be, n, n+"-v1")
	}
	waitMirrored(t, east, west, "OBJ_west_B_app_docs")
	_ = m.Shutdown(ctx)

	west.b.Shutdown() // the link breaks; east goes on alone
	putBlob(t, be, "keep", "keep-east")
	putBlob(t, be, "both", "both-east")
	if err := be.DeleteBlob(ctx, "app", "docs", "gone", blob.Conditions{}); err != nil {
		t.Fatal(err)
	}
	putBlob(t, be, "new", strings.Repeat("east-new ", 100_000)) // several parts
	east.b.Shutdown()

	west = startRegion(t, "west", west.dir, true)
	if _, err := Promote(ctx, PromoteOptions{Broker: west.b, Primary: "east", Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	bw := newBlobs(t, west.b)
	if got := readBlob(t, bw, "gone"); got != "gone-v1" {
		t.Fatalf("gone in the promoted west: %q", got)
	}
	putBlob(t, bw, "both", "both-west")

	url, err := LeafURL(west.b)
	if err != nil {
		t.Fatal(err)
	}
	east = startRegion(t, "east", east.dir, false, url)
	waitLinked(t, west, east)
	rescued, err := RescueTail(ctx, RescueOptions{Broker: east.b, NewPrimary: "west", Logger: quiet})
	if err != nil {
		t.Fatalf("rescue: %v %+v", err, rescued)
	}
	found := false
	for _, s := range rescued.Streams {
		if s.Stream != "OBJ_east_B_app_docs" {
			continue
		}
		found = true
		if s.Kind != KindBlob || len(s.Conflicts) != 1 || s.Applied == 0 || s.Error != "" {
			t.Errorf("rescue of the container: %+v", s)
		}
	}
	if !found {
		t.Errorf("the container was not rescued: %+v", rescued.Streams)
	}
	want := map[string]string{"keep": "keep-east", "both": "both-west", "gone": "", "new": strings.Repeat("east-new ", 100_000)}
	for name, body := range want {
		if got := readBlob(t, bw, name); got != body {
			t.Errorf("%s in west after the rescue: %d bytes %.20q, want %d bytes %.20q", name, len(got), got, len(body), body)
		}
	}
	if _, err := Reseed(ctx, ReseedOptions{Broker: east.b, NewPrimary: "west", Rescued: rescued, Logger: quiet}); err != nil {
		t.Fatalf("reseed: %v", err)
	}
}

// TestBlobDataMarkersExpire: the markers a deleted data object leaves (a
// tombstone meta and an empty chunk rollup) are mirrored, drop the
// replaced data in the mirror too, and expire on both sides.
func TestBlobDataMarkersExpire(t *testing.T) {
	east, west := startPair(t)
	ctx := testCtx(t)
	be, err := blob.New(blob.Options{Broker: east.b, Logger: quiet, TombstoneTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	startMirrorer(t, Options{Broker: west.b, Primary: "east"})
	if _, err := be.CreateContainer(ctx, "app", "docs", nil); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", 300_000) // three chunks
	for range 3 {
		putBlob(t, be, "x", body)
	}
	// Live: the container and blob records, and the data object's meta
	// and three chunks.
	const live = 6
	waitFor(t, "markers expired in east and west", func() bool {
		o, err1 := east.b.JetStream().Stream(ctx, "OBJ_east_B_app_docs")
		m, err2 := west.b.JetStream().Stream(ctx, "OBJ_west_B_app_docs")
		return err1 == nil && err2 == nil && o.CachedInfo().State.Msgs == live && m.CachedInfo().State.Msgs == live
	})
	bw := newBlobs(t, west.b)
	if got := readBlob(t, bw, "x"); got != body {
		t.Fatalf("x in west: %d bytes", len(got))
	}
}
