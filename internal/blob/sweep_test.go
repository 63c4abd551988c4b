package blob

import (
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
