// Package metering counts what a consumption plan bills: executions and
// GB-seconds per function, with failures and a duration histogram for
// operators. It feeds /metrics (Prometheus) and GET /admin/usage (JSON with
// a cost estimate at configurable prices).
package metering

import (
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Prices are what a consumption plan charges.
type Prices struct {
	PerMillionExecutions float64 `json:"perMillionExecutions"`
	PerGBSecond          float64 `json:"perGBSecond"`
}

// DefaultPrices are Azure Functions consumption prices.
var DefaultPrices = Prices{PerMillionExecutions: 0.20, PerGBSecond: 0.000016}

// Billing rounds like the consumption plan: memory up to the next 128 MB,
// and at least 100 ms per execution.
const (
	memoryStep  = 128 << 20
	minDuration = 100 * time.Millisecond
)

// GBSeconds is the billed resource consumption of one execution.
func GBSeconds(d time.Duration, memBytes int64) float64 {
	mem := max(int64(math.Ceil(float64(memBytes)/memoryStep))*memoryStep, memoryStep)
	return float64(mem) / (1 << 30) * max(d, minDuration).Seconds()
}

// Meter records invocations.
type Meter struct {
	prices      Prices
	invocations *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	gbSeconds   *prometheus.CounterVec

	mu    sync.Mutex
	usage map[key]*Usage

	series sync.Map // key -> *series: label lookups done once per function
}

// series are one function's metric children and usage totals.
type series struct {
	ok        prometheus.Counter // the failure child is looked up when needed: it is not exported before a failure
	duration  prometheus.Observer
	gbSeconds prometheus.Counter
	usage     *Usage // guarded by Meter.mu
}

type key struct{ app, function string }

// Usage is one function's totals.
type Usage struct {
	Executions      uint64  `json:"executions"`
	Failures        uint64  `json:"failures"`
	DurationSeconds float64 `json:"durationSeconds"`
	GBSeconds       float64 `json:"gbSeconds"`
	Cost            float64 `json:"cost"`
}

// New returns a Meter registered on reg.
func New(reg prometheus.Registerer, prices Prices) *Meter {
	m := &Meter{
		prices: prices,
		usage:  map[key]*Usage{},
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_function_invocations_total", Help: "Function invocations by result (success or failure).",
		}, []string{"app", "function", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tandem_function_duration_seconds", Help: "Function invocation duration.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18),
		}, []string{"app", "function"}),
		gbSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_function_gb_seconds_total", Help: "Billed GB-seconds (resident memory x duration, consumption-plan rounding).",
		}, []string{"app", "function"}),
	}
	reg.MustRegister(m.invocations, m.duration, m.gbSeconds)
	return m
}

// Observe records one finished invocation.
func (m *Meter) Observe(app, function string, d time.Duration, ok bool, memBytes int64) {
	sr := m.seriesFor(app, function)
	gbs := GBSeconds(d, memBytes)
	if ok {
		sr.ok.Inc()
	} else {
		m.invocations.WithLabelValues(app, function, "failure").Inc()
	}
	sr.duration.Observe(d.Seconds())
	sr.gbSeconds.Add(gbs)
	m.mu.Lock()
	defer m.mu.Unlock()
	u := sr.usage
	u.Executions++
	if !ok {
		u.Failures++
	}
	u.DurationSeconds += d.Seconds()
	u.GBSeconds += gbs
}

// seriesFor returns a function's series, looking its labels up the first
// time only.
func (m *Meter) seriesFor(app, function string) *series {
	k := key{app, function}
	if sr, ok := m.series.Load(k); ok {
		return sr.(*series)
	}
	sr := &series{
		ok:        m.invocations.WithLabelValues(app, function, "success"),
		duration:  m.duration.WithLabelValues(app, function),
		gbSeconds: m.gbSeconds.WithLabelValues(app, function),
	}
	m.mu.Lock()
	if sr.usage = m.usage[k]; sr.usage == nil {
		sr.usage = &Usage{}
		m.usage[k] = sr.usage
	}
	m.mu.Unlock()
	actual, _ := m.series.LoadOrStore(k, sr)
	return actual.(*series)
}

// Report is the body of GET /admin/usage.
type Report struct {
	Prices Prices               `json:"prices"`
	Apps   map[string]AppReport `json:"apps"`
	Total  Usage                `json:"total"`
}

// AppReport is one app's usage.
type AppReport struct {
	Functions map[string]Usage `json:"functions"`
	Total     Usage            `json:"total"`
}

// Report totals usage and prices it.
func (m *Meter) Report() Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := Report{Prices: m.prices, Apps: map[string]AppReport{}}
	keys := make([]key, 0, len(m.usage))
	for k := range m.usage {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].app+"/"+keys[i].function < keys[j].app+"/"+keys[j].function })
	for _, k := range keys {
		u := *m.usage[k]
		u.Cost = m.cost(u)
		a, ok := r.Apps[k.app]
		if !ok {
			a = AppReport{Functions: map[string]Usage{}}
		}
		a.Functions[k.function] = u
		a.Total = add(a.Total, u)
		r.Apps[k.app] = a
		r.Total = add(r.Total, u)
	}
	return r
}

func (m *Meter) cost(u Usage) float64 {
	return float64(u.Executions)/1e6*m.prices.PerMillionExecutions + u.GBSeconds*m.prices.PerGBSecond
}

func add(a, b Usage) Usage {
	return Usage{
		Executions: a.Executions + b.Executions, Failures: a.Failures + b.Failures,
		DurationSeconds: a.DurationSeconds + b.DurationSeconds, GBSeconds: a.GBSeconds + b.GBSeconds, Cost: a.Cost + b.Cost,
	}
}

// RegisterAdmin serves GET /admin/usage.
func (m *Meter) RegisterAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/usage", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(m.Report())
	})
}
