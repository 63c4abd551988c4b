package replicate

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestLeafURLNeedsAListener(t *testing.T) {
	tests := []struct {
		name   string
		listen bool
		ok     bool
	}{
		{"with LeafListen", true, true},
		{"without", false, false},
	}
	for _, tt := range tests {
		r := startRegion(t, "east", t.TempDir(), tt.listen)
		url, err := LeafURL(r.b)
		if (err == nil) != tt.ok || tt.ok && !strings.HasPrefix(url, "nats://127.0.0.1:") {
			t.Errorf("%s: %q %v", tt.name, url, err)
		}
	}
}

func TestWaitLinkedTimesOutWithoutALink(t *testing.T) {
	east := startRegion(t, "east", t.TempDir(), true)
	lonely := startRegion(t, "west", t.TempDir(), false) // no LeafRemotes
	ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel()
	if err := WaitLinked(ctx, lonely.b, "east"); err == nil {
		t.Fatal("linked without a leafnode")
	}
	url, err := LeafURL(east.b)
	if err != nil {
		t.Fatal(err)
	}
	west := startRegion(t, "west", t.TempDir(), false, url)
	waitLinked(t, east, west) // both directions over the one link
}
