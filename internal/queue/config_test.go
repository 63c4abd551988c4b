package queue

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	def := DefaultConfig()
	tests := []struct {
		name    string
		in      string
		want    Config
		wantErr string
	}{
		{name: "empty", in: ``, want: def},
		{name: "null", in: `null`, want: def},
		{name: "defaults", in: `{}`, want: def},
		{
			name: "all fields, any key case",
			in: `{"BatchSize": 8, "newBatchThreshold": 3, "maxPollingInterval": "00:00:02",
			      "visibilityTimeout": "00:00:30", "MAXDEQUEUECOUNT": 2, "messageEncoding": "None"}`,
			want: Config{BatchSize: 8, NewBatchThreshold: 3, MaxPollingInterval: 2 * time.Second,
				VisibilityTimeout: 30 * time.Second, MaxDequeueCount: 2, MessageEncoding: None},
		},
		{
			name: "threshold follows batch size",
			in:   `{"batchSize": 32}`,
			want: Config{BatchSize: 32, NewBatchThreshold: 16, MaxPollingInterval: time.Minute, MaxDequeueCount: 5, MessageEncoding: Base64},
		},
		{
			name: "string numbers and unknown keys",
			in:   `{"batchSize": "4", "somethingElse": true}`,
			want: Config{BatchSize: 4, NewBatchThreshold: 2, MaxPollingInterval: time.Minute, MaxDequeueCount: 5, MessageEncoding: Base64},
		},
		{name: "batch too big", in: `{"batchSize": 33}`, wantErr: "batchSize 33"},
		{name: "batch zero", in: `{"batchSize": 0}`, wantErr: "batchSize 0"},
		{name: "negative threshold", in: `{"newBatchThreshold": -1}`, wantErr: "newBatchThreshold"},
		{name: "poll too short", in: `{"maxPollingInterval": "00:00:00.05"}`, wantErr: "maxPollingInterval"},
		{name: "poll as number", in: `{"maxPollingInterval": 2000}`, wantErr: "TimeSpan string"},
		{name: "bad span", in: `{"visibilityTimeout": "00:61:00"}`, wantErr: "visibilityTimeout"},
		{name: "dequeue zero", in: `{"maxDequeueCount": 0}`, wantErr: "maxDequeueCount"},
		{name: "bad encoding", in: `{"messageEncoding": "utf8"}`, wantErr: "messageEncoding"},
		{name: "not an object", in: `[1]`, wantErr: "extensions.queues"},
		{name: "float batch", in: `{"batchSize": 1.5}`, wantErr: "not an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseTimeSpan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:00:30", 30 * time.Second, true},
		{"00:01", time.Minute, true},
		{"1.02:03:04.5", 26*time.Hour + 3*time.Minute + 4500*time.Millisecond, true},
		{"00:00:00.1234567", 123456700 * time.Nanosecond, true},
		{"2", 48 * time.Hour, true},
		{" 00:00:01 ", time.Second, true},
		{"24:00:00", 0, false},
		{"00:60:00", 0, false},
		{"00:00:60", 0, false},
		{"-00:00:01", 0, false},
		{"00:00:01.12345678", 0, false},
		{"1:2:3:4", 0, false},
		{"", 0, false},
		{"abc", 0, false},
		{"+1", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseTimeSpan(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseTimeSpan(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{`{}`, `{"batchSize":8,"visibilityTimeout":"00:00:30"}`, `{"messageEncoding":"none"}`, `[`, `{"newBatchThreshold":"7"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseConfig([]byte(in))
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("ParseConfig accepted an invalid config: %v", verr)
			}
		}
	})
}

func FuzzParseTimeSpan(f *testing.F) {
	for _, s := range []string{"00:00:30", "1.02:03:04.5", "7", "00:00:00.0000001", "23:59:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseTimeSpan(in)
		if err == nil && d < 0 {
			t.Fatalf("negative span %v from %q", d, in)
		}
	})
}
