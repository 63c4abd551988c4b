package drill

import (
	"context"
	"fmt"
	"time"
)

// progress prints a line a second until stopped.
func (r *run) progress(ctx context.Context) (stop func()) {
	if r.opts.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				r.printProgress()
			}
		}
	}()
	return func() { close(done); <-finished }
}

func (r *run) printProgress() {
	counts := map[string][2]int{}
	last := ""
	for _, x := range r.load.snapshot() {
		c := counts[x.method]
		c[0]++
		if !x.ok {
			c[1]++
		} else if x.method == "GET" {
			last = x.region
		}
		counts[x.method] = c
	}
	fmt.Fprintf(r.opts.Progress, "  %6.1fs  %-28s GET %d (%d failed)  POST %d (%d)  PUT %d (%d)  served by %s\n",
		time.Since(r.start).Seconds(), r.currentPhase(), counts["GET"][0], counts["GET"][1],
		counts["POST"][0], counts["POST"][1], counts["PUT"][0], counts["PUT"][1], last)
}
