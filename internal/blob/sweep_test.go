package blob

import (
	"errors"
	"testing"
)

func TestSweepStaged(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "swp")
	cc := env.client.ServiceClient().NewContainerClient("swp")
	a, other := cc.NewBlockBlobClient("a"), cc.NewBlockBlobClient("pending")
	for i := range 3 {
		if _, err := a.StageBlock(ctx, blockID(i), nopCloser(randBytes(100_000)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := other.StageBlock(ctx, blockID(9), nopCloser([]byte("later")), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CommitBlockList(ctx, []string{blockID(1)}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := env.svc.open(ctx, testAccount, "swp")
	if err != nil {
		t.Fatal(err)
	}
	pre, err := st.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := pre.State.Bytes
	n, err := env.svc.SweepStaged(ctx, testAccount, "swp")
	if err != nil {
		t.Fatal(err)
	}
	// The background sweep after the commit may have taken them first.
	info, err := st.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n > 2 || info.State.Bytes >= before && n > 0 {
		t.Fatalf("swept %d blocks, bytes %d -> %d", n, before, info.State.Bytes)
	}
	for _, id := range []int{0, 2} {
		var sb stagedBlock
		if _, found, err := env.svc.readRecord(ctx, st, blockObject("a", blockID(id)), &sb); err != nil || found {
			t.Fatalf("block %d of a: found %v, err %v; want swept", id, found, err)
		}
	}
	if _, err := other.CommitBlockList(ctx, []string{blockID(9)}, nil); err != nil {
		t.Fatalf("a block staged for another blob was swept: %v", err)
	}
	if got := string(download(t, env, "swp", "pending", nil)); got != "later" {
		t.Fatalf("pending = %q", got)
	}
}

// TestSweepKeepsABlockStagedAgain: a sweep that listed a discarded block
// and then finds it staged again under the same id (a new upload reusing
// the id after the commit) keeps it: the delete is conditional on the
// record it judged. (The unconditional delete lost such a block when the
// background sweep after a commit ran late.)
func TestSweepKeepsABlockStagedAgain(t *testing.T) {
	env := newEnv(t, nil)
	ctx := env.ctx
	newContainer(t, env, "again")
	bb := env.client.ServiceClient().NewContainerClient("again").NewBlockBlobClient("b")
	for i := range 2 {
		if _, err := bb.StageBlock(ctx, blockID(i), nopCloser([]byte{byte('a' + i)}), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bb.CommitBlockList(ctx, []string{blockID(0)}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := env.svc.open(ctx, testAccount, "again")
	if err != nil {
		t.Fatal(err)
	}
	var sb stagedBlock
	seq, found, err := env.svc.readRecord(ctx, st, blockObject("b", blockID(1)), &sb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bb.StageBlock(ctx, blockID(1), nopCloser([]byte("Z")), nil); err != nil {
		t.Fatal(err)
	}
	// The record a sweep judged (seq) is no longer the stored one: its
	// conditional delete loses to the new stage.
	if err := env.svc.deleteRecord(ctx, st, blockObject("b", blockID(1)), seq); found && !errors.Is(err, ErrPrecondition) {
		t.Fatalf("delete of the judged record after a new stage: %v, want a precondition failure", err)
	}
	if _, err := env.svc.SweepStaged(ctx, testAccount, "again"); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.CommitBlockList(ctx, []string{blockID(0), blockID(1)}, nil); err != nil {
		t.Fatalf("the block staged again was swept: %v", err)
	}
	if got := string(download(t, env, "again", "b", nil)); got != "aZ" {
		t.Fatalf("content = %q, want aZ", got)
	}
}
