package replicate

import (
	"reflect"
	"testing"
)

func TestRecordAdd(t *testing.T) {
	tests := []struct {
		name      string
		start     record
		acks      []uint64
		wantFloor uint64
		wantAcked [][2]uint64
	}{
		{"in order", record{}, []uint64{1, 2, 3}, 3, nil},
		{"gap stays", record{}, []uint64{1, 3, 4, 6}, 1, [][2]uint64{{3, 4}, {6, 6}}},
		{"gap filled", record{}, []uint64{2, 3, 5, 1, 4}, 5, nil},
		{"below floor ignored", record{Floor: 10}, []uint64{3, 10}, 10, nil},
		{"duplicate ack", record{}, []uint64{4, 4, 4}, 0, [][2]uint64{{4, 4}}},
		{"ranges merge", record{}, []uint64{5, 7, 6, 9}, 0, [][2]uint64{{5, 7}, {9, 9}}},
		{"stuck head keeps one range", record{Floor: 100}, []uint64{102, 103, 104, 105, 106}, 100, [][2]uint64{{102, 106}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.start
			for _, s := range tt.acks {
				r.add(s)
			}
			if r.Floor != tt.wantFloor || !reflect.DeepEqual(r.Acked, tt.wantAcked) && len(r.Acked)+len(tt.wantAcked) > 0 {
				t.Fatalf("got floor %d acked %v, want %d %v", r.Floor, r.Acked, tt.wantFloor, tt.wantAcked)
			}
		})
	}
}

func TestRecordFloorMergeClamp(t *testing.T) {
	tests := []struct {
		name      string
		op        func(r *record)
		start     record
		wantFloor uint64
		wantAcked [][2]uint64
	}{
		{"raise floor swallows ranges", func(r *record) { r.raiseFloor(7) }, record{Floor: 1, Acked: [][2]uint64{{3, 4}, {8, 9}, {12, 12}}}, 9, [][2]uint64{{12, 12}}},
		{"raise floor never lowers", func(r *record) { r.raiseFloor(2) }, record{Floor: 5}, 5, nil},
		{"merge unions", func(r *record) { r.merge(record{Floor: 3, Acked: [][2]uint64{{6, 6}}}) }, record{Floor: 1, Acked: [][2]uint64{{5, 5}, {9, 9}}}, 3, [][2]uint64{{5, 6}, {9, 9}}},
		{"clamp cuts ranges", func(r *record) { r.clamp(10) }, record{Floor: 2, Acked: [][2]uint64{{5, 12}, {15, 20}}}, 2, [][2]uint64{{5, 10}}},
		{"clamp lowers floor", func(r *record) { r.clamp(4) }, record{Floor: 8}, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.start
			tt.op(&r)
			if r.Floor != tt.wantFloor || !reflect.DeepEqual(r.Acked, tt.wantAcked) && len(r.Acked)+len(tt.wantAcked) > 0 {
				t.Fatalf("got floor %d acked %v, want %d %v", r.Floor, r.Acked, tt.wantFloor, tt.wantAcked)
			}
		})
	}
}

func TestRecordDone(t *testing.T) {
	r := record{Floor: 3, Acked: [][2]uint64{{5, 6}, {9, 9}}}
	want := map[uint64]bool{1: true, 3: true, 4: false, 5: true, 6: true, 7: false, 9: true, 10: false}
	for seq, w := range want {
		if got := r.done(seq); got != w {
			t.Errorf("done(%d) = %v, want %v", seq, got, w)
		}
	}
	if r.count() != 3 {
		t.Errorf("count = %d, want 3", r.count())
	}
}

func TestDecodeRecord(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want record
	}{
		{`{"floor":4,"acked":[[6,7],[9,9]]}`, true, record{Floor: 4, Acked: [][2]uint64{{6, 7}, {9, 9}}}},
		{`{"floor":0}`, true, record{}},
		{`{"floor":4,"acked":[[5,7]]}`, false, record{}},       // touches the floor
		{`{"floor":4,"acked":[[8,7]]}`, false, record{}},       // reversed
		{`{"floor":4,"acked":[[9,9],[6,7]]}`, false, record{}}, // unsorted
		{`{"floor":4,"acked":[[6,7],[8,9]]}`, false, record{}}, // adjacent
		{`{"floor":-1}`, false, record{}},                      // negative
		{`{"floor":18446744073709551615,"acked":[[1,1]]}`, false, record{}},
		{`not json`, false, record{}},
	}
	for _, tt := range tests {
		got, err := decodeRecord([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("decode %s: err %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && (got.Floor != tt.want.Floor || len(got.Acked) != len(tt.want.Acked)) {
			t.Errorf("decode %s = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, s := range []string{`{"floor":4,"acked":[[6,7],[9,9]]}`, `{"floor":0}`, `{"acked":[[1,2]]}`, `[]`, `{"floor":1e30}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRecord(data)
		if err != nil {
			return
		}
		// A valid record survives normalize unchanged and round-trips.
		before := encodeRecord(r)
		r.normalize()
		if string(encodeRecord(r)) != string(before) {
			t.Fatalf("valid record %s changed by normalize to %s", before, encodeRecord(r))
		}
		again, err := decodeRecord(before)
		if err != nil || string(encodeRecord(again)) != string(before) {
			t.Fatalf("round trip of %s: %v", before, err)
		}
	})
}

func FuzzRecordOps(f *testing.F) {
	f.Add([]byte{1, 3, 2, 9, 5}, uint8(0))
	f.Add([]byte{7, 7, 1}, uint8(3))
	f.Fuzz(func(t *testing.T, acks []byte, floor uint8) {
		var r record
		r.raiseFloor(uint64(floor))
		set := map[uint64]bool{}
		for _, a := range acks {
			r.add(uint64(a))
			set[uint64(a)] = true
		}
		for s := uint64(1); s < 300; s++ {
			want := s <= uint64(floor) || set[s]
			if r.done(s) != want {
				t.Fatalf("done(%d)=%v want %v (record %+v)", s, r.done(s), want, r)
			}
		}
		if _, err := decodeRecord(encodeRecord(r)); err != nil {
			t.Fatalf("record %+v does not decode: %v", r, err)
		}
	})
}

func FuzzDecodePromotionRecords(f *testing.F) {
	f.Add([]byte(`{"stream":"west_Q_a_b","origin":"east_Q_a_b","from":"east","lastSeq":7,"at":"2026-01-02T03:04:05Z"}`))
	f.Add([]byte(`{"from":"east","at":"2026-01-02T03:04:05Z","streams":3}`))
	f.Add([]byte(`{"lastSeq":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := decodePromotion(data); err == nil && (p.Stream == "" || p.From == "") {
			t.Fatalf("promotion record without stream or from accepted: %q", data)
		}
		_, _ = decodeMarker(data) // must not panic
	})
}
