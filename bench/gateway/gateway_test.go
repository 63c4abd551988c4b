// Package gateway benchmarks a region's HTTP path against the handler
// called directly, in the same run: forwarded GET throughput and latency,
// added latency at half of peak load, and cold start.
//
//	go test -run XXX -bench . -benchtime 1x ./bench/gateway/
package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandemhq/tandem/bench/load"
	"github.com/tandemhq/tandem/internal/region"
	"github.com/tandemhq/tandem/internal/testbin"
)

const workers = 32

func startRegion(b *testing.B, idle time.Duration) (*region.Region, string) {
	return startRegionMode(b, idle, true)
}

// startRegionMode starts a region serving the echo handler's app in
// forwarding mode (forward) or payload mode.
func startRegionMode(b *testing.B, idle time.Duration, forward bool) (*region.Region, string) {
	b.Helper()
	exe := testbin.Build(b, "testdata/handlers/echo")
	dir := filepath.Join(b.TempDir(), "bench")
	must(b, os.MkdirAll(filepath.Join(dir, "hello"), 0o755))
	must(b, os.WriteFile(filepath.Join(dir, "host.json"), []byte(`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"`+exe+`"},"enableForwardingHttpRequest":`+strconv.FormatBool(forward)+`}}`), 0o644))
	must(b, os.WriteFile(filepath.Join(dir, "hello", "function.json"), []byte(`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","methods":["get"]},{"type":"http","direction":"out","name":"res"}]}`), 0o644))
	r, err := region.New(region.Options{Name: "bench", HTTPAddr: "127.0.0.1:0", DataDir: b.TempDir(), Apps: []region.AppSpec{{Dir: dir}},
		IdleTimeout: idle, MaxInstances: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must(b, err)
	must(b, r.Start(context.Background()))
	b.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return r, exe
}

// startDirect runs the same handler binary on its own port.
func startDirect(b *testing.B, exe string) string {
	b.Helper()
	port := freePort(b)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port))
	must(b, cmd.Start())
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	waitListen(b, port)
	return url
}

func BenchmarkForwardedGET(b *testing.B) { closedLoop(b, true, "forward") }

// BenchmarkPayloadGET: the same GET through a region in payload mode (the
// gateway builds the invocation payload and parses the handler's reply),
// against the same direct baseline: the handler's own answer to the GET.
func BenchmarkPayloadGET(b *testing.B) { closedLoop(b, false, "payload") }

func closedLoop(b *testing.B, forward bool, mode string) {
	r, exe := startRegionMode(b, time.Hour, forward)
	direct := startDirect(b, exe) + "/api/hello"
	via := r.URL() + "/api/hello"
	c := load.Client(workers)
	n := 40000
	load.Closed(c, via, workers, 2000) // warm both paths
	load.Closed(c, direct, workers, 2000)
	for i := 0; i < b.N; i++ {
		cpu0 := processCPU()
		d := load.Closed(c, direct, workers, n)
		cpu1 := processCPU()
		g := load.Closed(c, via, workers, n)
		cpu2 := processCPU()
		// The generator's CPU per request is the same in both runs, so the
		// difference is the gateway's; on a shared machine it moves far
		// less than req/s does.
		gwCPU := ((cpu2 - cpu1) - (cpu1 - cpu0)) / time.Duration(n)
		b.ReportMetric(float64(gwCPU.Nanoseconds())/1000, "gateway-cpu-µs/req")
		fmt.Printf("  gateway CPU per request (this process through the region minus direct): %s\n", gwCPU)
		b.ReportMetric(d.ReqPerS, "direct-req/s")
		b.ReportMetric(g.ReqPerS, "region-req/s")
		b.ReportMetric(g.ReqPerS/d.ReqPerS, "ratio")
		b.ReportMetric(float64(d.P99.Microseconds()), "direct-p99-µs")
		b.ReportMetric(float64(g.P99.Microseconds()), "region-p99-µs")
		fmt.Printf("%s mode, closed loop, %d workers\n  direct: %s\n  region: %s\n  ratio %.2f\n", mode, workers, d, g, g.ReqPerS/d.ReqPerS)
		fmt.Printf("RESULT gateway %s-go direct %.0f %s region %.0f %s ratio %.2f cpu %.1f\n", mode, d.ReqPerS, d.P99, g.ReqPerS, g.P99, g.ReqPerS/d.ReqPerS, float64(gwCPU.Nanoseconds())/1000)
	}
}

// BenchmarkWrk measures both modes and the direct handler with wrk
// (-t2 -c64, 5 s each, interleaved), when wrk is installed.
func BenchmarkWrk(b *testing.B) {
	if _, err := exec.LookPath("wrk"); err != nil {
		b.Skip("wrk is not installed (apt-get install wrk)")
	}
	fwd, exe := startRegionMode(b, time.Hour, true)
	pay, _ := startRegionMode(b, time.Hour, false)
	direct := startDirect(b, exe) + "/api/hello"
	for i := 0; i < b.N; i++ {
		d := wrk(b, direct)
		f := wrk(b, fwd.URL()+"/api/hello")
		p := wrk(b, pay.URL()+"/api/hello")
		b.ReportMetric(f.rps/d.rps, "forward-ratio")
		b.ReportMetric(p.rps/d.rps, "payload-ratio")
		fmt.Printf("wrk -t2 -c64 -d5s\n  direct:  %s\n  forward: %s (%.2fx)\n  payload: %s (%.2fx)\n", d, f, f.rps/d.rps, p, p.rps/d.rps)
		fmt.Printf("RESULT gateway forward-wrk direct %.0f %s region %.0f %s ratio %.2f\n", d.rps, d.p99, f.rps, f.p99, f.rps/d.rps)
		fmt.Printf("RESULT gateway payload-wrk direct %.0f %s region %.0f %s ratio %.2f\n", d.rps, d.p99, p.rps, p.p99, p.rps/d.rps)
	}
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type wrkResult struct {
	rps float64
	p99 string
}

func (w wrkResult) String() string { return fmt.Sprintf("%.0f req/s, p99 %s", w.rps, w.p99) }

func wrk(b *testing.B, url string) wrkResult {
	out, err := exec.Command("wrk", "-t2", "-c64", "-d5s", "--latency", url).Output()
	must(b, err)
	var r wrkResult
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "Requests/sec:":
			r.rps, _ = strconv.ParseFloat(f[1], 64)
		case len(f) >= 2 && f[0] == "99%":
			r.p99 = f[1]
		}
	}
	if r.rps == 0 {
		b.Fatalf("no rate in wrk's output:\n%s", out)
	}
	return r
}

// BenchmarkHalfLoad offers 50% of the region's measured peak to both paths
// and compares latency: the region's added p50 and p99.
func BenchmarkHalfLoad(b *testing.B) {
	r, exe := startRegion(b, time.Hour)
	direct := startDirect(b, exe) + "/api/hello"
	via := r.URL() + "/api/hello"
	c := load.Client(256)
	peak := load.Closed(c, via, workers, 20000).ReqPerS
	rate := int(peak / 2)
	for i := 0; i < b.N; i++ {
		d := load.Open(context.Background(), c, direct, rate, 5*time.Second)
		g := load.Open(context.Background(), c, via, rate, 5*time.Second)
		b.ReportMetric(float64(rate), "offered-req/s")
		b.ReportMetric(float64((g.P50 - d.P50).Microseconds()), "added-p50-µs")
		b.ReportMetric(float64((g.P99 - d.P99).Microseconds()), "added-p99-µs")
		fmt.Printf("open loop at %d req/s (50%% of region peak %.0f)\n  direct: %s\n  region: %s\n  added p50 %s, p99 %s\n",
			rate, peak, d, g, g.P50-d.P50, g.P99-d.P99)
		fmt.Printf("RESULT gateway half-load offered %d direct-achieved %.0f region-achieved %.0f added-p50 %s added-p99 %s\n",
			rate, d.Achieved, g.Achieved, g.P50-d.P50, g.P99-d.P99)
	}
}

// BenchmarkColdStart: the first request to an app scaled to zero, to its
// response, vs the handler's own start-to-listen time (median of 20).
func BenchmarkColdStart(b *testing.B) {
	r, exe := startRegion(b, 30*time.Millisecond)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < b.N; i++ {
		var cold, own []time.Duration
		for j := 0; j < 20; j++ {
			waitScaledToZero(b, r)
			t := time.Now()
			resp, err := c.Get(r.URL() + "/api/hello")
			must(b, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			cold = append(cold, time.Since(t))
			own = append(own, handlerStart(b, exe))
		}
		mc, mo := median(cold), median(own)
		b.ReportMetric(float64(mc.Microseconds()), "cold-start-µs")
		b.ReportMetric(float64(mo.Microseconds()), "handler-start-µs")
		b.ReportMetric(float64((mc - mo).Microseconds()), "added-µs")
		fmt.Printf("cold start median %s, handler start-to-listen median %s, added %s\n", mc, mo, mc-mo)
		fmt.Printf("RESULT gateway cold-start handler %s region %s added %s\n", mo, mc, mc-mo)
	}
}

func waitScaledToZero(b *testing.B, r *region.Region) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(r.URL() + "/metrics")
		must(b, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if r.Instances("bench") == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("never scaled to zero")
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

// handlerStart starts the handler and measures until its port accepts.
func handlerStart(b *testing.B, exe string) time.Duration {
	port := freePort(b)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port))
	t := time.Now()
	must(b, cmd.Start())
	waitListen(b, port)
	d := time.Since(t)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return d
}

func waitListen(b *testing.B, port int) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Microsecond) // polling interval
	}
	b.Fatal("handler never listened")
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func freePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(b, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
