package table

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func allTypesEntity() Entity {
	return Entity{
		PartitionKey: "p'1",
		RowKey:       "r\"1",
		Timestamp:    time.Date(2024, 1, 2, 3, 4, 5, 600000000, time.UTC),
		ETag:         `W/"7"`,
		Properties: map[string]Value{
			"Name":     String("Ada <&> \u00e9"),
			"Age":      Int32(-36),
			"Big":      Int64(9007199254740993),
			"Ratio":    Double(2.5),
			"Whole":    Double(5),
			"Tiny":     Double(1e-9),
			"NotANum":  Double(math.NaN()),
			"Active":   Bool(true),
			"Born":     DateTime(time.Date(1815, 12, 10, 0, 0, 0, 1234500, time.UTC)),
			"Id":       Guid("c9da6455-213d-42c9-9a79-3e9149a57833"),
			"Blob":     Binary([]byte{0, 1, 2, 250}),
			"Empty":    String(""),
			"Negative": Double(math.Inf(-1)),
		},
	}
}

func TestEntityJSONGolden(t *testing.T) {
	got, err := allTypesEntity().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "all_types.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.TrimSpace(want)) {
		t.Fatalf("JSON differs from %s:\n got %s\nwant %s", path, got, want)
	}
}

func TestEntityJSONRoundTrip(t *testing.T) {
	in := allTypesEntity()
	data := appendEntity(nil, in, encodeOptions{stored: true})
	out, err := decodeEntity(data, true)
	if err != nil {
		t.Fatal(err)
	}
	assertSameEntity(t, in, out)
}

func assertSameEntity(t *testing.T, want, got Entity) {
	t.Helper()
	if got.PartitionKey != want.PartitionKey || got.RowKey != want.RowKey {
		t.Fatalf("keys %q/%q, want %q/%q", got.PartitionKey, got.RowKey, want.PartitionKey, want.RowKey)
	}
	if !got.Timestamp.Equal(want.Timestamp) {
		t.Fatalf("Timestamp %v, want %v", got.Timestamp, want.Timestamp)
	}
	if len(got.Properties) != len(want.Properties) {
		t.Fatalf("%d properties, want %d: %v", len(got.Properties), len(want.Properties), got.Properties)
	}
	for name, w := range want.Properties {
		if g := got.Properties[name]; !g.Equal(w) {
			t.Errorf("property %s = %+v, want %+v", name, g, w)
		}
	}
}

// Entities as Azure and the SDKs send them decode to the right types.
func TestDecodeAzureJSON(t *testing.T) {
	cases := []struct {
		name, json string
		prop       string
		want       Value
	}{
		{"inferred string", `{"P":"x"}`, "P", String("x")},
		{"inferred int32", `{"P":42}`, "P", Int32(42)},
		{"int beyond int32 is double", `{"P":4294967296}`, "P", Double(4294967296)},
		{"inferred double", `{"P":1.5}`, "P", Double(1.5)},
		{"inferred bool", `{"P":false}`, "P", Bool(false)},
		{"int64 as string", `{"P@odata.type":"Edm.Int64","P":"-9223372036854775808"}`, "P", Int64(math.MinInt64)},
		{"int64 as number", `{"P":12,"P@odata.type":"Edm.Int64"}`, "P", Int64(12)},
		{"explicit int32", `{"P@odata.type":"Edm.Int32","P":7}`, "P", Int32(7)},
		{"double whole", `{"P@odata.type":"Edm.Double","P":3}`, "P", Double(3)},
		{"double infinity", `{"P@odata.type":"Edm.Double","P":"Infinity"}`, "P", Double(math.Inf(1))},
		{"explicit string", `{"P@odata.type":"Edm.String","P":"12"}`, "P", String("12")},
		{"explicit bool", `{"P@odata.type":"Edm.Boolean","P":true}`, "P", Bool(true)},
		{"datetime 7 digits", `{"P@odata.type":"Edm.DateTime","P":"2013-08-22T01:12:06.2608595Z"}`, "P",
			DateTime(time.Date(2013, 8, 22, 1, 12, 6, 260859500, time.UTC))},
		{"datetime no fraction", `{"P@odata.type":"Edm.DateTime","P":"2008-07-10T00:00:00Z"}`, "P",
			DateTime(time.Date(2008, 7, 10, 0, 0, 0, 0, time.UTC))},
		{"datetime offset", `{"P@odata.type":"Edm.DateTime","P":"2008-07-10T02:00:00+02:00"}`, "P",
			DateTime(time.Date(2008, 7, 10, 0, 0, 0, 0, time.UTC))},
		{"guid", `{"P@odata.type":"Edm.Guid","P":"C9DA6455-213D-42C9-9A79-3E9149A57833"}`, "P",
			Guid("c9da6455-213d-42c9-9a79-3e9149a57833")},
		{"binary", `{"P@odata.type":"Edm.Binary","P":"AAEC+g=="}`, "P", Binary([]byte{0, 1, 2, 250})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := DecodeEntity([]byte(c.json))
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Properties[c.prop]; !got.Equal(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestDecodeIgnoresMetadataAndNulls(t *testing.T) {
	e, err := DecodeEntity([]byte(`{"odata.etag":"W/\"1\"","odata.metadata":"x","PartitionKey":"p","RowKey":"r",
		"Timestamp":"2020-01-01T00:00:00Z","Gone":null,"Kept":"k","Orphan@odata.type":"Edm.Int64"}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.PartitionKey != "p" || e.RowKey != "r" || !e.Timestamp.IsZero() {
		t.Fatalf("got %+v", e)
	}
	if len(e.Properties) != 1 || !e.Properties["Kept"].Equal(String("k")) {
		t.Fatalf("properties %v, want only Kept", e.Properties)
	}
}

func TestDecodeRejectsBadValues(t *testing.T) {
	cases := []struct{ name, json, wantInError string }{
		{"not an object", `[1]`, "not a JSON object"},
		{"nested object", `{"P":{"a":1}}`, `property "P"`},
		{"array value", `{"P":[1]}`, "objects and arrays"},
		{"int32 overflow", `{"P@odata.type":"Edm.Int32","P":3000000000}`, "Edm.Int32"},
		{"int64 garbage", `{"P@odata.type":"Edm.Int64","P":"12x"}`, "Edm.Int64"},
		{"bad guid", `{"P@odata.type":"Edm.Guid","P":"nope"}`, "not a GUID"},
		{"bad binary", `{"P@odata.type":"Edm.Binary","P":"!!"}`, "base64"},
		{"bad datetime", `{"P@odata.type":"Edm.DateTime","P":"yesterday"}`, "RFC 3339"},
		{"bad bool", `{"P@odata.type":"Edm.Boolean","P":"yes"}`, "Edm.Boolean"},
		{"unknown type", `{"P@odata.type":"Edm.Decimal","P":"1"}`, "unsupported type"},
		{"numeric key", `{"PartitionKey":1}`, "PartitionKey must be a JSON string"},
		{"annotation not a string", `{"P@odata.type":5,"P":"1"}`, "P@odata.type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeEntity([]byte(c.json))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.wantInError) {
				t.Fatalf("err = %v, want an ErrInvalid mentioning %q", err, c.wantInError)
			}
		})
	}
}

func TestAppendDoubleReadsBackAsDouble(t *testing.T) {
	cases := map[float64]string{5: "5.0", -0.25: "-0.25", 1e21: "1e+21", 1e-7: "1e-07", 0: "0.0", 123456789: "123456789.0"}
	for f, want := range cases {
		if got := string(appendDouble(nil, f)); got != want {
			t.Errorf("appendDouble(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestEntityValidation(t *testing.T) {
	long := strings.Repeat("x", maxKeyChars+1)
	cases := []struct {
		name string
		e    Entity
		code string
	}{
		{"slash in key", entity("a/b", "r", nil), "OutOfRangeInput"},
		{"hash in row key", entity("p", "r#", nil), "OutOfRangeInput"},
		{"control char", entity("p\x01", "r", nil), "OutOfRangeInput"},
		{"key too long", entity(long, "r", nil), "OutOfRangeInput"},
		{"bad property name", entity("p", "r", map[string]Value{"my-prop": String("x")}), "PropertyNameInvalid"},
		{"reserved name", entity("p", "r", map[string]Value{"Timestamp": String("x")}), "PropertyNameInvalid"},
		{"digit first", entity("p", "r", map[string]Value{"1a": String("x")}), "PropertyNameInvalid"},
		{"string too big", entity("p", "r", map[string]Value{"S": String(strings.Repeat("x", 32*1024+1))}), "PropertyValueTooLarge"},
		{"binary too big", entity("p", "r", map[string]Value{"B": Binary(make([]byte, 64*1024+1))}), "PropertyValueTooLarge"},
		{"old date", entity("p", "r", map[string]Value{"D": DateTime(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC))}), "OutOfRangeInput"},
		{"bad guid", entity("p", "r", map[string]Value{"G": Guid("x")}), "InvalidInput"},
		{"too many", entity("p", "r", manyProps(253)), "TooManyProperties"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.e.Validate()
			var te *Error
			if !errors.As(err, &te) || te.Code != c.code {
				t.Fatalf("err = %v, want code %s", err, c.code)
			}
		})
	}
	if err := entity("", "", manyProps(252)).Validate(); err != nil {
		t.Fatalf("valid entity (empty keys, 252 properties) rejected: %v", err)
	}
}

func manyProps(n int) map[string]Value {
	m := map[string]Value{}
	for i := range n {
		m["P"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+string(rune('a'+i/26))] = Int32(int32(i))
	}
	return m
}

func TestValidTableName(t *testing.T) {
	for _, ok := range []string{"abc", "Orders2024", "A" + strings.Repeat("b", 62)} {
		if err := ValidTableName(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ab", "1abc", "has-dash", "has_underscore", "tables", "Tables", "A" + strings.Repeat("b", 63)} {
		if err := ValidTableName(bad); err == nil || !strings.Contains(err.Error(), "table name") {
			t.Errorf("%q accepted or unclear error: %v", bad, err)
		}
	}
}

// FuzzEntityJSON: any input either fails with ErrInvalid or decodes to an
// entity that survives an encode/decode round trip unchanged.
func FuzzEntityJSON(f *testing.F) {
	seeds := []string{
		`{"PartitionKey":"p","RowKey":"r","A":1,"B":"x","C":true,"D":1.5}`,
		`{"P@odata.type":"Edm.Int64","P":"123","G@odata.type":"Edm.Guid","G":"c9da6455-213d-42c9-9a79-3e9149a57833"}`,
		`{"T@odata.type":"Edm.DateTime","T":"2013-08-22T01:12:06.2608595Z","B@odata.type":"Edm.Binary","B":"AQI="}`,
		`{"N@odata.type":"Edm.Double","N":"NaN","X":null}`,
		`{"P":{"nested":1}}`, `[]`, `{"P":"\ud800"}`, `{"P":1e400}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeEntity(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error is not ErrInvalid: %v", err)
			}
			return
		}
		again, err := decodeEntity(appendEntity(nil, e, encodeOptions{stored: true}), true)
		if err != nil {
			t.Fatalf("re-decoding our own encoding of %q: %v", data, err)
		}
		assertSameEntity(t, e, again)
	})
}
