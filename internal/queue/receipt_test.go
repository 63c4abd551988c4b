package queue

import (
	"errors"
	"testing"
)

func TestReceiptAckSubjects(t *testing.T) {
	tests := []struct {
		name, reply string
		seq         uint64
		ok          bool
	}{
		{"v1 form", "$JS.ACK.east_Q_shop_orders.worker.1.7.9.1700000000000000000.0", 7, true},
		{"v2 form with domain", "$JS.ACK.east.ACCHASH.east_Q_shop_orders.worker.1.7.9.1700000000000000000.0.tok", 7, true},
		{"another sequence", "$JS.ACK.east_Q_shop_orders.worker.1.8.9.1700000000000000000.0", 7, false},
		{"another consumer", "$JS.ACK.east_Q_shop_orders.other.1.7.9.1700000000000000000.0", 7, false},
		{"not an ack subject", "tandem.east.q.shop.orders", 7, false},
		{"wildcard", "$JS.ACK.east_Q_shop_orders.worker.1.7.9.*.0", 7, false},
		{"empty token", "$JS.ACK..worker.1.7.9.1700000000000000000.0", 7, false},
	}
	for _, tt := range tests {
		r := receipt{seq: tt.seq, gen: 3, count: 1, reply: tt.reply}
		got, err := parseReceipt(r.encode())
		if tt.ok && (err != nil || got != r) {
			t.Errorf("%s: parsed %+v, %v", tt.name, got, err)
		}
		if !tt.ok && !errors.Is(err, errBadReceipt) {
			t.Errorf("%s: accepted (%v)", tt.name, err)
		}
	}
	if s := ackStream("$JS.ACK.east.H.east_Q_shop_orders.worker.1.7.9.1.0.t"); s != "east_Q_shop_orders" {
		t.Errorf("ackStream: %q", s)
	}
}
