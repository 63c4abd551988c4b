// Command loadgen drives the failover bench: a steady, open-loop stream of
// GETs at a fixed rate (a hung upstream does not slow the offered load), a
// fault injected by running a shell command at a set time, and a summary of
// what clients saw: failed requests, and how long after the fault the
// secondary served the first success and then served everything promptly.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"sync"
	"time"
)

type result struct {
	start, end time.Duration // since the run began
	status     int
	backend    string
	err        string
}

// Summary is what loadgen prints (JSON with -json).
type Summary struct {
	Sent              int            `json:"sent"`
	OK                int            `json:"ok"`
	Failed            int            `json:"failed"`
	FailedKinds       map[string]int `json:"failedKinds"`
	FaultAtMs         float64        `json:"faultAtMs"`
	FirstSecondaryMs  float64        `json:"firstSecondaryOkMs"` // fault -> first OK answer from the secondary
	SteadySecondaryMs float64        `json:"steadySecondaryMs"`  // fault -> every later request answered by the secondary under the threshold
	P50AfterMs        float64        `json:"p50AfterFaultMs"`    // latency of requests started after the fault
	P99AfterMs        float64        `json:"p99AfterFaultMs"`    //
	MaxAfterMs        float64        `json:"maxAfterFaultMs"`    //
	ByBackend         map[string]int `json:"byBackend"`          //
	SlowThresholdMs   float64        `json:"steadyThresholdMs"`  //
	Rate              int            `json:"rate"`               //
	DurationS         float64        `json:"durationS"`          //
	Fault             string         `json:"fault"`              //
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/", "URL to GET")
	rate := flag.Int("rate", 500, "requests per second")
	duration := flag.Duration("duration", 8*time.Second, "how long to send")
	faultAfter := flag.Duration("fault-after", 3*time.Second, "when to run -fault")
	fault := flag.String("fault", "", "shell command that injects the fault")
	secondary := flag.String("secondary", "b", "X-Backend value of the secondary")
	timeout := flag.Duration("timeout", 5*time.Second, "client timeout per request")
	slow := flag.Duration("steady-threshold", 100*time.Millisecond, "latency under which a secondary answer counts as prompt")
	asJSON := flag.Bool("json", false, "print JSON")
	flag.Parse()
	client := &http.Client{Timeout: *timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 1024}}
	results, faultAt := run(client, *url, *rate, *duration, *faultAfter, *fault)
	s := summarize(results, faultAt, *secondary, *slow)
	s.Rate, s.DurationS, s.Fault = *rate, duration.Seconds(), *fault
	if *asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(s)
		return
	}
	fmt.Printf("sent %d ok %d failed %d %v; first secondary OK %.0f ms after the fault, all prompt on secondary after %.0f ms; after fault p50 %.1f p99 %.1f max %.1f ms; %v\n",
		s.Sent, s.OK, s.Failed, s.FailedKinds, s.FirstSecondaryMs, s.SteadySecondaryMs, s.P50AfterMs, s.P99AfterMs, s.MaxAfterMs, s.ByBackend)
}

func run(client *http.Client, url string, rate int, duration, faultAfter time.Duration, fault string) ([]result, time.Duration) {
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	begin := time.Now()
	faultAt := time.Duration(-1)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for now := range tick.C {
		el := now.Sub(begin)
		if el >= duration {
			break
		}
		if fault != "" && faultAt < 0 && el >= faultAfter {
			faultAt = inject(fault, begin)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := one(client, url, begin)
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return results, faultAt
}

func inject(cmd string, begin time.Time) time.Duration {
	at := time.Since(begin)
	if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "fault %q: %v %s\n", cmd, err, out)
	}
	return at
}

func one(client *http.Client, url string, begin time.Time) result {
	r := result{start: time.Since(begin)}
	resp, err := client.Get(url)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		r.status, r.backend = resp.StatusCode, resp.Header.Get("X-Backend")
	}
	r.end = time.Since(begin)
	if err != nil {
		r.err = err.Error()
	}
	return r
}

func summarize(rs []result, faultAt time.Duration, secondary string, slow time.Duration) Summary {
	s := Summary{Sent: len(rs), FailedKinds: map[string]int{}, ByBackend: map[string]int{}, FaultAtMs: ms(faultAt), SlowThresholdMs: ms(slow)}
	sort.Slice(rs, func(i, j int) bool { return rs[i].start < rs[j].start })
	var after []float64
	firstSec, steady := time.Duration(-1), time.Duration(0)
	for _, r := range rs {
		okResp := r.err == "" && r.status == 200
		s.count(r, okResp)
		if faultAt < 0 || r.start < faultAt {
			continue
		}
		after = append(after, ms(r.end-r.start))
		if okResp && r.backend == secondary && (firstSec < 0 || r.end-faultAt < firstSec) {
			firstSec = r.end - faultAt
		}
		if !(okResp && r.backend == secondary && r.end-r.start < slow) {
			steady = r.end - faultAt // a request not yet promptly on the secondary
		}
	}
	s.FirstSecondaryMs, s.SteadySecondaryMs = ms(firstSec), ms(steady)
	s.P50AfterMs, s.P99AfterMs, s.MaxAfterMs = pct(after, 0.50), pct(after, 0.99), pct(after, 1)
	return s
}

func (s *Summary) count(r result, ok bool) {
	s.ByBackend[r.backend]++
	switch {
	case ok:
		s.OK++
	case r.err != "":
		s.Failed++
		s.FailedKinds["error"]++
	default:
		s.Failed++
		s.FailedKinds[fmt.Sprint(r.status)]++
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	i := int(p * float64(len(v)-1))
	return v[i]
}
