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
	// Open loop only: the rate asked for and the rate at which requests
	// were actually started. Latency is measured from each request's
	// scheduled time, so a generator that falls behind shows it in the
	// latency instead of hiding it (no coordinated omission).
	Offered, Achieved float64
	// StartLagP99 is how late the 99th percentile request started against
	// its schedule (the generator's own lag, included in the latencies).
	StartLagP99 time.Duration
}

func (r Result) String() string {
	s := fmt.Sprintf("%d req (%d failed) in %s: %.0f req/s, p50 %s, p99 %s",
		r.Requests, r.Failures, r.Elapsed.Round(time.Millisecond), r.ReqPerS, r.P50, r.P99)
	if r.Offered > 0 {
		s += fmt.Sprintf("; offered %.0f req/s, started %.0f req/s (%.0f%%), start lag p99 %s",
			r.Offered, r.Achieved, 100*r.Achieved/r.Offered, r.StartLagP99)
	}
	return s
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
// a slow server does not slow the offered load. Requests are scheduled at
// start + i/rate; when the generator wakes late it starts every request
// already due at once (catching up instead of dropping ticks, as a Ticker
// would), and each latency counts from the scheduled time. The result
// says the rate actually achieved.
func Open(ctx context.Context, c *http.Client, url string, rate int, d time.Duration) Result {
	total := int(float64(rate) * d.Seconds())
	var mu sync.Mutex
	var lat, lags []time.Duration
	fails := 0
	var wg sync.WaitGroup
	start := time.Now()
	sent := 0
	for sent < total && ctx.Err() == nil {
		due := min(int(time.Since(start).Seconds()*float64(rate))+1, total)
		for ; sent < due; sent++ {
			at := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				lag := time.Since(at)
				dur, err := getFrom(c, url, at)
				mu.Lock()
				defer mu.Unlock()
				lags = append(lags, lag)
				if err != nil {
					fails++
					return
				}
				lat = append(lat, dur)
			}()
		}
		next := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
		if w := time.Until(next); w > 0 {
			time.Sleep(w) // pacing the generator, not waiting for a result
		}
	}
	sending := time.Since(start)
	wg.Wait()
	r := summarize([][]time.Duration{lat}, []int{fails}, time.Since(start))
	r.Offered = float64(rate)
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	r.StartLagP99 = Percentile(lags, 0.99)
	if sending > 0 {
		r.Achieved = float64(sent) / max(sending.Seconds(), d.Seconds())
	}
	return r
}

func get(c *http.Client, url string) (time.Duration, error) { return getFrom(c, url, time.Now()) }

// getFrom sends a GET and returns the time from t (its scheduled start)
// to the end of its response.
func getFrom(c *http.Client, url string, t time.Time) (time.Duration, error) {
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
