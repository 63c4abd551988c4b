// Package load is the HTTP load generator the benchmarks share: a closed
// loop (N workers, as fast as they go) to find peak throughput, and an open
// loop (a fixed request rate) to measure latency at a given load.
package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Result summarizes a run.
type Result struct {
	Requests int
	Failures int
	Elapsed  time.Duration
	ReqPerS  float64
	P50, P99 time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d req (%d failed) in %s: %.0f req/s, p50 %s, p99 %s",
		r.Requests, r.Failures, r.Elapsed.Round(time.Millisecond), r.ReqPerS, r.P50, r.P99)
}

// Client returns an HTTP client that keeps enough connections open.
func Client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, Proxy: nil}, Timeout: 10 * time.Second}
}

// Closed sends n GETs to url from workers concurrent workers.
func Closed(c *http.Client, url string, workers, n int) Result {
	var next atomic.Int64
	lat := make([][]time.Duration, workers)
	fails := make([]int, workers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				d, err := get(c, url)
				if err != nil {
					fails[w]++
					continue
				}
				lat[w] = append(lat[w], d)
			}
		}()
	}
	wg.Wait()
	return summarize(lat, fails, time.Since(start))
}

// Open sends GETs at rate per second for d, each on its own goroutine, so
// a slow server does not slow the offered load.
func Open(ctx context.Context, c *http.Client, url string, rate int, d time.Duration) Result {
	interval := time.Second / time.Duration(rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var mu sync.Mutex
	var lat []time.Duration
	fails := 0
	var wg sync.WaitGroup
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			dur, err := get(c, url)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails++
				return
			}
			lat = append(lat, dur)
		}()
	}
	wg.Wait()
	return summarize([][]time.Duration{lat}, []int{fails}, time.Since(start))
}

func get(c *http.Client, url string) (time.Duration, error) {
	t := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return time.Since(t), err
}

func summarize(lat [][]time.Duration, fails []int, elapsed time.Duration) Result {
	var all []time.Duration
	f := 0
	for i := range lat {
		all = append(all, lat[i]...)
		f += fails[i]
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := Result{Requests: len(all) + f, Failures: f, Elapsed: elapsed}
	if elapsed > 0 {
		r.ReqPerS = float64(len(all)) / elapsed.Seconds()
	}
	r.P50, r.P99 = Percentile(all, 0.50), Percentile(all, 0.99)
	return r
}

// Percentile of sorted durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}
