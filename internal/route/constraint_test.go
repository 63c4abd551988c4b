package route

import "testing"

func TestConstraintValues(t *testing.T) {
	tests := []struct {
		constraint string
		yes, no    []string
	}{
		{"int", []string{"0", "-5", "+5", " 7 ", "2147483647", "-2147483648", "007"}, []string{"", "1.0", "2147483648", "+-1", "- 1", "1e3", "0x1F", "١"}},
		{"long", []string{"9223372036854775807", "-9223372036854775808"}, []string{"9223372036854775808", "abc"}},
		{"bool", []string{"true", "False", " TRUE "}, []string{"1", "yes", "t"}},
		{"decimal", []string{"1", "-1.5", "1,000.25", ".5", "5.", "5-", " +3 ", "79228162514264337593543950335"}, []string{"", ".", "1e5", ",5", "-5-", "1.2.3", "79228162514264337593543950336", "NaN"}},
		{"double", []string{"1", "1.5e10", "-1E-3", "1,000", "1e400", "NaN", "-infinity", ".5"}, []string{"", "e5", "1e", "1.5f", "5-", "0x10", "∞"}},
		{"float", []string{"3.4e39", "2.5"}, []string{"abc"}},
		{"guid", []string{
			"0f8fad5bd9cb469fa16570867728950e",
			"0F8FAD5B-D9CB-469F-A165-70867728950E",
			"{0f8fad5b-d9cb-469f-a165-70867728950e}",
			"(0f8fad5b-d9cb-469f-a165-70867728950e)",
			"{0x0f8fad5b,0xd9cb,0x469f,{0xa1,0x65,0x70,0x86,0x77,0x28,0x95,0x0e}}",
		}, []string{"0f8fad5b-d9cb-469f-a165-70867728950", "{0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5bd9cb469fa16570867728950g"}},
		{"datetime", []string{"2024-01-15", "2024-1-5", "2024-01-15T10:30", "2024-01-15T10:30:00.123Z", "2024-01-15 10:30:00+02:00", "01-15-2024", "10:30", "2024-01"}, []string{"2024-02-30", "tomorrow", "2024-13-01", "123"}},
		{"alpha", []string{"abc", "ABC"}, []string{"ab1", "é", "a-b"}},
		{"minlength(2)", []string{"ab", "abc"}, []string{"a"}},
		{"maxlength(2)", []string{"a", "ab"}, []string{"abc"}},
		{"length(2)", []string{"ab", "😀"}, []string{"a", "abc"}},
		{"length(1,3)", []string{"a", "abc"}, []string{"abcd"}},
		{"min(10)", []string{"10", "11"}, []string{"9", "x"}},
		{"max(10)", []string{"10", "-3"}, []string{"11", "1.5"}},
		{"range(1,3)", []string{"1", "3"}, []string{"0", "4"}},
		{"regex(^[a-c]+$)", []string{"abc", "ABC"}, []string{"abcd"}},
		{"required", []string{"x"}, []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.constraint, func(t *testing.T) {
			c, err := resolveConstraint(tc.constraint)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tc.yes {
				if !c.match(v) {
					t.Errorf("%s rejects %q", tc.constraint, v)
				}
			}
			for _, v := range tc.no {
				if c.match(v) {
					t.Errorf("%s accepts %q", tc.constraint, v)
				}
			}
		})
	}
}
