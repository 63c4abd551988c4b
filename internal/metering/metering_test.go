package metering

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestGBSecondsRounding(t *testing.T) {
	cases := []struct {
		d    time.Duration
		mem  int64
		want float64
	}{
		{10 * time.Millisecond, 20 << 20, 0.125 * 0.1}, // minimums: 128 MB, 100 ms
		{2 * time.Second, 129 << 20, 0.25 * 2},         // 129 MB bills as 256 MB
		{time.Second, 0, 0.125},                        // unknown memory bills the minimum
		{1500 * time.Millisecond, 1 << 30, 1.0 * 1.5},  // exactly 1 GB
	}
	for _, c := range cases {
		if got := GBSeconds(c.d, c.mem); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("GBSeconds(%v, %d) = %v, want %v", c.d, c.mem, got, c.want)
		}
	}
}

func TestReportAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, DefaultPrices)
	for i := 0; i < 3; i++ {
		m.Observe("shop", "hello", time.Second, true, 100<<20)
	}
	m.Observe("shop", "hello", time.Second, false, 100<<20)
	m.Observe("shop", "orders", 50*time.Millisecond, true, 300<<20)
	r := m.Report()
	h := r.Apps["shop"].Functions["hello"]
	if h.Executions != 4 || h.Failures != 1 || math.Abs(h.GBSeconds-0.5) > 1e-9 {
		t.Fatalf("hello %+v", h)
	}
	wantCost := 5/1e6*0.20 + (0.5+0.375*0.1)*0.000016
	if math.Abs(r.Total.Cost-wantCost) > 1e-12 || r.Total.Executions != 5 {
		t.Fatalf("total %+v want cost %v", r.Total, wantCost)
	}
	const want = `
# HELP tandem_function_invocations_total Function invocations by result (success or failure).
# TYPE tandem_function_invocations_total counter
tandem_function_invocations_total{app="shop",function="hello",result="failure"} 1
tandem_function_invocations_total{app="shop",function="hello",result="success"} 3
tandem_function_invocations_total{app="shop",function="orders",result="success"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "tandem_function_invocations_total"); err != nil {
		t.Fatal(err)
	}
}
