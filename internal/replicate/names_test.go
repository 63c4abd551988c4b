package replicate

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		stream string
		kind   Kind
		ok     bool
	}{
		{"east_Q_app_orders", KindQueue, true},
		{"east_Q_app_orders-poison", KindQueue, true},
		{"KV_east_T_app_customers", KindTable, true},
		{"KV_east_TC", KindCatalog, true},
		{"KV_east_TA", KindAccounts, true},
		{"KV_east_timers", KindTimers, true},
		{"KV_east_progress", KindProgress, true},
		{"KV_east_blobreceipts", KindReceipts, true},
		{"KV_west_blobreceipts", "", false},
		{"KV_east_timerlease", "", false}, // region-local
		{"KV_east_role", "", false},       // region-local
		{"KV_east_keys", "", false},       // replicated by rules
		{"KV_east_settings", "", false},   // replicated by rules
		{"west_Q_app_orders", "", false},  // other region
		{"KV_west_TC", "", false},
		{"east2_Q_app_orders", "", false}, // region name is not a prefix match
		{"east_Q_app", "", false},
		{"east_Q__orders", "", false},
		{"KV_east_T_app", "", false},
		{"OBJ_east_packages", "", false},
		{"OBJ_east_B_app_photos", KindBlob, true},
		{"OBJ_east_B_app", "", false},
		{"OBJ_west_B_app_photos", "", false},
	}
	for _, tt := range tests {
		kind, ok := classify("east", tt.stream)
		if kind != tt.kind && tt.ok || ok != tt.ok {
			t.Errorf("classify(east, %s) = %q %v, want %q %v", tt.stream, kind, ok, tt.kind, tt.ok)
		}
	}
}

func TestRenameAndMapSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"east_Q_app_orders", "west_Q_app_orders"},
		{"KV_east_T_app_t", "KV_west_T_app_t"},
		{"KV_east_TC", "KV_west_TC"},
		{"OBJ_east_B_app_photos", "OBJ_west_B_app_photos"},
	}
	for _, tt := range tests {
		if got := rename(tt.in, "east", "west"); got != tt.want {
			t.Errorf("rename(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	subjects := []struct {
		in, want string
		ok       bool
	}{
		{"tandem.east.q.app.orders", "tandem.west.q.app.orders", true},
		{"$KV.east_T_app_t.>", "$KV.west_T_app_t.>", true},
		{"$KV.east_TC.>", "$KV.west_TC.>", true},
		{"$O.east_B_app_photos.C.>", "$O.west_B_app_photos.C.>", true},
		{"$O.east_B_app_photos.M.>", "$O.west_B_app_photos.M.>", true},
		{"orders", "", false},
		{"tandem.eastern.q.x", "", false},
	}
	for _, tt := range subjects {
		got, ok := mapSubject(tt.in, "east", "west")
		if got != tt.want || ok != tt.ok {
			t.Errorf("mapSubject(%s) = %s %v, want %s %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestQueueOf(t *testing.T) {
	app, q, ok := queueOf("west", "west_Q_shop-1_orders-poison")
	if !ok || app != "shop-1" || q != "orders-poison" {
		t.Fatalf("queueOf = %s %s %v", app, q, ok)
	}
	if _, _, ok := queueOf("west", "KV_west_TC"); ok {
		t.Fatal("queueOf accepted a bucket")
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"east_Q_app_orders", "KV_east_T_a_b", "KV_east_TC", "KV_east_progress", "x", "KV_east_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream string) {
		kind, ok := classify("east", stream)
		if !ok {
			return
		}
		other := rename(stream, "east", "west")
		if k2, ok2 := classify("west", other); !ok2 || k2 != kind {
			t.Fatalf("%s -> %s: kind %q %v, want %q", stream, other, k2, ok2, kind)
		}
		if back := rename(other, "west", "east"); back != stream {
			t.Fatalf("rename round trip %s -> %s -> %s", stream, other, back)
		}
		if _, ok := classify("west", stream); ok {
			t.Fatalf("%s classified in both regions", stream)
		}
	})
}
