package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A number is read only when it is written in plain decimal: every other
// form yaml.v3 reads as a number (010, 0x10, 0o10, 0b101, 1_000, 1e1, .5)
// means something else to another YAML tool, so it is refused, at its
// place, with the decimal to write (review, 2026-12-07). Decided for
// floats: 2.5 is read; .5, 5. and 1e1 are refused with the decimal to
// write; .inf and .nan are refused as not finite; 0x1p3 is a string to
// every YAML tool, and is refused as one.
func TestNumbersWrittenInDecimal(t *testing.T) {
	seats := func(v string) string {
		return strings.Replace(valid, "seats: {standard: 10,", "seats: {standard: "+v+",", 1)
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"leading zero", seats("010"), []string{
			`a.yaml:11:23: organizations[0].seats.standard: 010 is not a plain decimal number; write 10 (leading zeros are not allowed: YAML 1.1 tools read 010 as octal 8)`}},
		{"leading zero, not octal", seats("09"), []string{
			`a.yaml:11:23: organizations[0].seats.standard: 09 is not a plain decimal number; write 9 (leading zeros are not allowed)`}},
		{"negative leading zero", seats("-010"), []string{
			`a.yaml:11:23: organizations[0].seats.standard: -010 is not a plain decimal number; write -10 (leading zeros are not allowed: YAML 1.1 tools read -010 as octal -8)`}},
		{"hexadecimal", seats("0x10"), []string{
			`a.yaml:11:23: organizations[0].seats.standard: 0x10 is not a plain decimal number; write 16 (hexadecimal numbers are not allowed: a spec's numbers are decimal)`}},
		{"octal", seats("0o10"), []string{
			`a.yaml:11:23: organizations[0].seats.standard: 0o10 is not a plain decimal number; write 8 (octal numbers are not allowed: a spec's numbers are decimal)`}},
		{"binary", seats("0b101"), []string{
			`a.yaml:11:23: organizations[0].seats.standard: 0b101 is not a plain decimal number; write 5 (binary numbers are not allowed: a spec's numbers are decimal)`}},
		{"underscores", seats("1_000"), []string{
			`a.yaml:11:23: organizations[0].seats.standard: 1_000 is not a plain decimal number; write 1000 (underscores are not allowed in numbers: YAML 1.2 tools read 1_000 as a string)`}},
		{"exponent for an integer", seats("1e1"), []string{
			`a.yaml:11:23: organizations[0].seats.standard: 1e1 is not a plain decimal number; write 10 (exponents are not allowed: YAML 1.1 tools read 1e1 as a string)`}},
		// The form is refused before the range: the value yaml.v3 read
		// is not what was written.
		{"hexadecimal out of range", valid + "  maxRemovalPercent: 0x1F4\n", []string{
			`a.yaml:19:22: policy.maxRemovalPercent: 0x1F4 is not a plain decimal number; write 500 (hexadecimal numbers are not allowed: a spec's numbers are decimal)`}},
		{"maxRemovals in octal", valid + "  maxRemovals: 0o17\n", []string{
			`a.yaml:19:16: policy.maxRemovals: 0o17 is not a plain decimal number; write 15 (octal numbers are not allowed: a spec's numbers are decimal)`}},
		{"exceptionNoticeDays with underscores", valid + "  exceptionNoticeDays: 1_4\n", []string{
			`a.yaml:19:24: policy.exceptionNoticeDays: 1_4 is not a plain decimal number; write 14 (underscores are not allowed in numbers: YAML 1.2 tools read 1_4 as a string)`}},
		{"percentage with an exponent", valid + "  maxRemovalPercent: 1e1\n", []string{
			`a.yaml:19:22: policy.maxRemovalPercent: 1e1 is not a plain decimal number; write 10 (exponents are not allowed: YAML 1.1 tools read 1e1 as a string)`}},
		{"percentage with a negative exponent", valid + "  maxRemovalPercent: 25e-1\n", []string{
			`a.yaml:19:22: policy.maxRemovalPercent: 25e-1 is not a plain decimal number; write 2.5 (exponents are not allowed: YAML 1.1 tools read 25e-1 as a string)`}},
		{"percentage without a leading digit", valid + "  maxRemovalPercent: .5\n", []string{
			`a.yaml:19:22: policy.maxRemovalPercent: .5 is not a plain decimal number; write 0.5 (a number has digits on both sides of its point)`}},
		{"percentage without a trailing digit", valid + "  maxRemovalPercent: 5.\n", []string{
			`a.yaml:19:22: policy.maxRemovalPercent: 5. is not a plain decimal number; write 5 (a number has digits on both sides of its point)`}},
		{"percentage with a leading zero", valid + "  maxRemovalPercent: 02.5\n", []string{
			`a.yaml:19:22: policy.maxRemovalPercent: 02.5 is not a plain decimal number; write 2.5 (leading zeros are not allowed)`}},
		{"percentage infinite", valid + "  maxRemovalPercent: .inf\n", []string{
			`a.yaml:19:22: policy.maxRemovalPercent: must be a number; .inf is not a finite number`}},
		{"percentage not a number", valid + "  maxRemovalPercent: .nan\n", []string{
			`a.yaml:19:22: policy.maxRemovalPercent: must be a number; .nan is not a finite number`}},
		{"percentage as a hexadecimal float", valid + "  maxRemovalPercent: 0x1p3\n", []string{
			`a.yaml:19:22: policy.maxRemovalPercent: must be a number, not a string`}},
		{"version with a leading zero", strings.Replace(valid, "version: 1", "version: 01", 1), []string{
			`a.yaml:1:10: version: 01 is not a plain decimal number; write 1 (leading zeros are not allowed: YAML 1.1 tools read 01 as octal 1)`}},
		{"version in hexadecimal", strings.Replace(valid, "version: 1", "version: 0x1", 1), []string{
			`a.yaml:1:10: version: 0x1 is not a plain decimal number; write 1 (hexadecimal numbers are not allowed: a spec's numbers are decimal)`}},
		// A negative is read as written, and refused by the range.
		{"negative", seats("-1"), []string{
			`a.yaml:11:23: organizations[0].seats.standard: must be at least 0, not -1`}},
		// Where no number belongs, the schema's word stands: a name
		// written 010 is to be quoted, not converted.
		{"a name written as a number", strings.Replace(valid, "name: hq", "name: 010", 1), []string{
			`a.yaml:10:11: organizations[0].name: must be a string, not a number`,
			`a.yaml:18:35: policy.exceptions[0].org: "hq" is not an organization in this spec; name one of the organizations in this spec`}},
		{"an unknown field", valid + "  colour: 0x10\n", []string{
			`a.yaml:19:3: policy.colour: unknown field "colour"; known fields: exceptionNoticeDays, exceptions, exclusiveOrgs, maxRemovalPercent, maxRemovals, ownerGroups, protectedUsers`}},
		{"a fraction where an integer belongs", valid + "  exceptionNoticeDays: .5\n", []string{
			`a.yaml:19:24: policy.exceptionNoticeDays: must be an integer, not a number with a fraction`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDiags(t, tt.in, tt.want)
		})
	}
}

// Plain decimals are read as written.
func TestPlainDecimalNumbers(t *testing.T) {
	in := strings.Replace(valid, "seats: {standard: 10,", "seats: {standard: +10,", 1) +
		"  maxRemovals: 0\n  maxRemovalPercent: 2.5\n  exceptionNoticeDays: 30\n"
	s, diags, err := LoadBytesWith(LoadOptions{Now: testNow}, "a.yaml", []byte(in))
	if err != nil || diags.HasErrors() {
		t.Fatalf("err %v, diags %v", err, diags)
	}
	got := []any{s.Organizations[0].Seats["standard"], *s.Policy.MaxRemovals, *s.Policy.MaxRemovalPercent, *s.Policy.ExceptionNoticeDays}
	if want := []any{10, 0, 2.5, 30}; !cmp.Equal(want, got) {
		t.Errorf("got %v, want %v", got, want)
	}
}
