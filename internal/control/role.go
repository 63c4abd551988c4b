// Package control is the control plane's shared state: which region is
// primary, at which epoch, until when its lease runs, the failover history,
// and which traffic manager decides. It lives in one JetStream KV bucket on
// a control cluster of nats-server nodes (R3 by default), so losing a
// traffic manager or a control node loses nothing. Every change is a
// compare-and-set on the key's revision: two deciders can never hand out
// the same epoch or grant overlapping leases, because only one of two
// writes at the same revision lands. Traffic managers decide and route
// with it; regions may follow it directly.
package control

import (
	"encoding/json"
	"fmt"
	"time"
)

// Role is what the control plane must not forget: which region is primary,
// at which epoch, how long the latest lease granted (or about to be
// granted) runs, and the failover history.
type Role struct {
	Primary    string     `json:"primary"`
	Epoch      uint64     `json:"epoch"`
	LeaseUntil time.Time  `json:"leaseUntil"`
	History    []Failover `json:"history"`
	// Decider is the traffic manager that wrote this state.
	Decider string `json:"decider,omitempty"`
}

// Failover is one change of primary.
type Failover struct {
	At      time.Time `json:"at"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to"`
	Epoch   uint64    `json:"epoch"`
	Kind    string    `json:"kind"` // initial, automatic, manual, planned, resync
	Reason  string    `json:"reason"`
	Decider string    `json:"decider,omitempty"`
}

// HistoryKept is how many failovers Role keeps.
const HistoryKept = 20

// Record appends f to the history, keeping the newest HistoryKept, on a
// copy so a Role read elsewhere is never changed under its reader.
func (r *Role) Record(f Failover) {
	h := append(make([]Failover, 0, len(r.History)+1), r.History...)
	h = append(h, f)
	if n := len(h); n > HistoryKept {
		h = h[n-HistoryKept:]
	}
	r.History = h
}

func decodeRole(b []byte) (Role, error) {
	var r Role
	if err := json.Unmarshal(b, &r); err != nil {
		return Role{}, fmt.Errorf("decode role state: %w", err)
	}
	return r, nil
}

// Decider is the lock one traffic manager holds while it decides: it
// grants and renews the primary's lease and fails over. Until is when the
// lock lapses unless renewed; another manager may take it after that.
type Decider struct {
	ID    string    `json:"id"`
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// Manager is one traffic manager's heartbeat: where it serves and when it
// was last seen. Managers list every traffic manager in status.
type Manager struct {
	ID     string    `json:"id"`
	HTTP   string    `json:"http"`
	Admin  string    `json:"admin"`
	DNS    string    `json:"dns,omitempty"`
	SeenAt time.Time `json:"seenAt"`
}
