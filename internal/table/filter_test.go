package table

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func filterSubject() Entity {
	return Entity{
		PartitionKey: "orders",
		RowKey:       "0042",
		Timestamp:    time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		Properties: map[string]Value{
			"Name":    String("O'Brien"),
			"Age":     Int32(36),
			"Big":     Int64(5000000000),
			"Price":   Double(9.75),
			"Active":  Bool(true),
			"Deleted": Bool(false),
			"Born":    DateTime(time.Date(1988, 2, 3, 4, 5, 6, 0, time.UTC)),
			"Id":      Guid("c9da6455-213d-42c9-9a79-3e9149a57833"),
			"Blob":    Binary([]byte{0x0a, 0xff}),
		},
	}
}

func TestFilterOverEveryType(t *testing.T) {
	cases := []struct {
		filter string
		want   bool
	}{
		{"", true},
		{"PartitionKey eq 'orders'", true},
		{"PartitionKey eq 'Orders'", false},
		{"RowKey gt '0041' and RowKey lt '0043'", true},
		{"Name eq 'O''Brien'", true},
		{"Name ne 'OBrien'", true},
		{"Name ge 'O'", true},
		{"Age eq 36", true},
		{"Age gt 36", false},
		{"Age ge 36 and Age le 36", true},
		{"Age lt 36.5", true},
		{"Age eq 36L", true},
		{"Big eq 5000000000L", true},
		{"Big gt 4999999999", true},
		{"Big lt 5000000000L", false},
		{"Price gt 9.5", true},
		{"Price eq 9.75d", true},
		{"Price le 9", false},
		{"Price gt 1e1", false},
		{"Active eq true", true},
		{"Active", true},
		{"Deleted", false},
		{"not Deleted", true},
		{"Deleted eq false", true},
		{"Born eq datetime'1988-02-03T04:05:06Z'", true},
		{"Born gt datetime'1988-02-03T04:05:06.0000001Z'", false},
		{"Born lt datetime'2000-01-01T00:00:00Z'", true},
		{"Timestamp ge datetime'2024-05-01T00:00:00Z'", true},
		{"Id eq guid'C9DA6455-213D-42C9-9A79-3E9149A57833'", true},
		{"Id ne guid'00000000-0000-0000-0000-000000000000'", true},
		{"Blob eq X'0aff'", true},
		{"Blob eq binary'0AFF'", true},
		{"Blob gt X'0a'", true},
		{"Missing eq 'x'", false},
		{"Missing ne 'x'", false},
		{"not (Missing eq 'x')", true},
		{"Name eq 5", false},
		{"Age eq '36'", false},
		{"Age eq 1 or Age eq 36", true},
		{"(Age eq 1 or Age eq 36) and Name eq 'x'", false},
		{"Age eq 1 or Age eq 36 and Name eq 'x'", false},
		{"not Age eq 36", false},
		{"((((Active))))", true},
		{"Active AND Age EQ 36", true},
		{"36 eq Age", true},
		{"'orders' eq PartitionKey", true},
		{"Age eq -36", false},
		{"true", true},
		{"false or Active", true},
	}
	e := filterSubject()
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			f, err := ParseFilter(c.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(e); got != c.want {
				t.Fatalf("Match = %v, want %v", got, c.want)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	cases := []struct{ filter, wantInError string }{
		{"Name eq 'open", "unterminated string"},
		{"Age eq", "expected a property name or a literal"},
		{"(Age eq 1", "expected ')'"},
		{"Age eq 1)", "unexpected ')'"},
		{"Age eq 1 Name", "unexpected 'Name'"},
		{"Age $ 1", "unexpected character"},
		{"Id eq guid'zzz'", "not a GUID"},
		{"Born eq datetime'never'", "RFC 3339"},
		{"Blob eq X'0g'", "not hexadecimal"},
		{"P eq foo'1'", "unknown literal type"},
		{"Age eq 99999999999999999999", "out of range"},
		{"Age eq 1.5L", "must be an integer"},
		{"Age eq -", "malformed number"},
		{"and", "expected a property name"},
		{strings.Repeat("(", maxFilterDepth+1) + "Active" + strings.Repeat(")", maxFilterDepth+1), "nested more than"},
		{strings.Repeat("not ", maxFilterDepth+1) + "Active", "nested more than"},
	}
	for _, c := range cases {
		t.Run(c.filter, func(t *testing.T) {
			_, err := ParseFilter(c.filter)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.wantInError) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, c.wantInError)
			}
			if !strings.Contains(err.Error(), "$filter") {
				t.Fatalf("error %q does not name $filter", err)
			}
		})
	}
}

func TestFilterPinnedKeys(t *testing.T) {
	cases := []struct {
		filter     string
		pk         string
		pinsPK     bool
		rk         string
		pinsRK     bool
		comparedTo string
	}{
		{filter: "PartitionKey eq 'a'", pk: "a", pinsPK: true},
		{filter: "PartitionKey eq 'a' and RowKey eq 'b'", pk: "a", pinsPK: true, rk: "b", pinsRK: true},
		{filter: "Age gt 1 and ('a' eq PartitionKey)", pk: "a", pinsPK: true},
		{filter: "PartitionKey eq 'a' or RowKey eq 'b'"},
		{filter: "PartitionKey ge 'a'"},
		{filter: "not (PartitionKey eq 'a')"},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		pk, okPK := f.pinned("PartitionKey")
		rk, okRK := f.pinned("RowKey")
		if pk != c.pk || okPK != c.pinsPK || rk != c.rk || okRK != c.pinsRK {
			t.Errorf("%q pins (%q,%v) (%q,%v); want (%q,%v) (%q,%v)", c.filter, pk, okPK, rk, okRK, c.pk, c.pinsPK, c.rk, c.pinsRK)
		}
	}
}

func TestBindingFilter(t *testing.T) {
	got := BindingFilter("it's", "Age gt 1 or Age lt 0")
	want := "PartitionKey eq 'it''s' and (Age gt 1 or Age lt 0)"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	f, err := ParseFilter(got)
	if err != nil {
		t.Fatal(err)
	}
	e := entity("it's", "r", map[string]Value{"Age": Int32(5)})
	if !f.Match(e) {
		t.Fatal("combined filter does not match")
	}
	e.PartitionKey = "other"
	if f.Match(e) {
		t.Fatal("combined filter ignores the partition key")
	}
	if BindingFilter("", "A eq 1") != "A eq 1" || BindingFilter("p", " ") != "PartitionKey eq 'p'" {
		t.Fatal("BindingFilter with an empty part")
	}
}

// FuzzFilter: the parser never panics, errors are ErrInvalid naming
// $filter, and a parsed filter evaluates without panicking.
func FuzzFilter(f *testing.F) {
	seeds := []string{
		"PartitionKey eq 'a' and RowKey ge 'b'",
		"not (Age gt 5 or Price le 1.5e3d) and Active",
		"Big eq 5000000000L and Id eq guid'c9da6455-213d-42c9-9a79-3e9149a57833'",
		"Born lt datetime'2008-07-10T00:00:00Z' or Blob eq X'0aFF'",
		"Name eq 'O''Brien'", "((", "'", "-", "1e", "X'", "eq eq eq", "Age eq 1)",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	subject := filterSubject()
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "$filter") {
				t.Fatalf("bad error for %q: %v", s, err)
			}
			return
		}
		flt.Match(subject)
		flt.Match(Entity{})
	})
}
