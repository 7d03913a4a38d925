package spec

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A number in a spec is written in plain decimal: an optional sign, digits
// without leading zeros, and for maxRemovalPercent an optional fraction
// with digits on both sides of the point (2.5). YAML tools disagree about
// every other form yaml.v3 reads as a number: 010 is octal 8 to YAML 1.1
// and 10 to YAML 1.2; 1_000 is 1000 to YAML 1.1 and a string to YAML 1.2;
// 1e1 is a string to YAML 1.1. Such a number is refused with the decimal
// to write instead, rather than read one way here and another by the next
// tool or reviewer. .inf and .nan are not numbers JSON can hold: they stay
// strings, and the schema refuses them where a number belongs.

var (
	plainIntRE   = regexp.MustCompile(`^[-+]?(0|[1-9][0-9]*)$`)
	plainFloatRE = regexp.MustCompile(`^[-+]?(0|[1-9][0-9]*)\.[0-9]+$`)
	octalRE      = regexp.MustCompile(`^[-+]?0[0-7]+$`)
)

// oddNumber is a number written in a form other than plain decimal.
type oddNumber struct {
	node *yaml.Node
	text string // as written
	fix  string // what to write instead, and why
}

// plainDecimal reports whether text, a plain scalar yaml.v3 resolved as
// !!int or !!float, is written in plain decimal.
func plainDecimal(text string) bool {
	return plainIntRE.MatchString(text) || plainFloatRE.MatchString(text)
}

// numberFix says what to write instead of text, a plain scalar yaml.v3
// resolved as a number that is not written in plain decimal, and why; ""
// when no decimal can be given.
func numberFix(text string) string {
	sign, body := "", text
	if body != "" && (body[0] == '-' || body[0] == '+') {
		sign, body = body[:1], body[1:]
	}
	if sign == "+" {
		sign = ""
	}
	digits := strings.ReplaceAll(body, "_", "")
	lower := strings.ToLower(digits)
	for _, b := range []struct {
		prefix string
		base   int
		name   string
	}{{"0x", 16, "hexadecimal"}, {"0o", 8, "octal"}, {"0b", 2, "binary"}} {
		if rest, ok := strings.CutPrefix(lower, b.prefix); ok {
			v, err := strconv.ParseUint(rest, b.base, 64)
			if err != nil {
				return ""
			}
			return "write " + sign + strconv.FormatUint(v, 10) + " (" + b.name + " numbers are not allowed: a spec's numbers are decimal)"
		}
	}
	if strings.ContainsAny(digits, "eE") {
		f, err := strconv.ParseFloat(sign+digits, 64)
		if err != nil {
			return ""
		}
		return "write " + strconv.FormatFloat(f, 'f', -1, 64) + " (exponents are not allowed: YAML 1.1 tools read " + text + " as a string)"
	}
	if strings.Contains(body, "_") {
		return "write " + decimal(sign, digits) + " (underscores are not allowed in numbers: YAML 1.2 tools read " + text + " as a string)"
	}
	if strings.HasPrefix(digits, ".") || strings.HasSuffix(digits, ".") {
		return "write " + decimal(sign, digits) + " (a number has digits on both sides of its point)"
	}
	if len(digits) > 1 && digits[0] == '0' && digits[1] != '.' {
		why := "leading zeros are not allowed"
		if octalRE.MatchString(text) {
			if v, err := strconv.ParseInt(text, 8, 64); err == nil {
				why += ": YAML 1.1 tools read " + text + " as octal " + strconv.FormatInt(v, 10)
			}
		}
		return "write " + decimal(sign, digits) + " (" + why + ")"
	}
	return ""
}

// decimal writes sign and digits (decimal, perhaps with leading zeros or a
// bare point) as a plain decimal number.
func decimal(sign, digits string) string {
	intPart, frac, hasPoint := strings.Cut(digits, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if hasPoint && strings.Trim(frac, "0") != "" {
		out += "." + frac
	}
	if out == "0" {
		return out
	}
	return sign + out
}
