package tenant

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
)

// MemberRow is one member from the admin console's members export.
type MemberRow struct {
	// Line is the 1-based line in the file where the row starts.
	Line     int
	Email    string
	Role     resolve.Role
	SeatTier string
	Org      string
	// Origin is the origin column's value, or jit when the file has no
	// such column or the cell is empty (see ParseMembersCSV).
	Origin resolve.Origin
}

// Members-export columns. A header names one when, lower-cased and without
// spaces, underscores and hyphens, it is one of the listed spellings.
var csvColumns = []struct {
	name     string
	required bool
	aliases  []string
}{
	{"email", true, []string{"email", "emailaddress", "mail"}},
	{"role", true, []string{"role"}},
	{"seat tier", true, []string{"seattier", "tier"}},
	{"org", true, []string{"org", "organization", "organisation", "orgname", "organizationname"}},
	{"origin", false, []string{"origin"}},
}

// maxCSVErrors bounds the row errors ParseMembersCSV reports at once.
const maxCSVErrors = 20

// ParseMembersCSV reads the admin console's members export: a header, then
// one member per row.
//
// Columns are found by header, in any order and any case: email, role,
// seat tier (seatTier, seat_tier, "Seat Tier", tier…) and org
// (organization…) are required; origin is optional; other columns are
// ignored. A missing required column is an error that names it; so is a
// column given twice.
//
// The file may start with a UTF-8 byte order mark, use CRLF line ends and
// quote fields (RFC 4180). Fields are separated by commas, or by semicolons
// or tabs when the header line has no comma. Cells are trimmed. Every row needs an email with
// an @, a role (member, admin, owner or primary-owner, in any case, with
// spaces or underscores for the hyphen), a seat tier and an org; an email
// may appear once per org. Problems are reported with their line numbers,
// up to 20 at once.
//
// The export does not say how a member got in. Without an origin column
// (or with an empty cell) the origin is jit: a member is not taken to be
// SCIM-backed unless the export says so. This never predicts a removal
// that would not happen on full enablement (an entitled jit member is
// linked, not removed), but in staged mode a SCIM-provisioned member who
// lost its entitlement is then predicted to stay; add an origin column
// (scim, jit or manual) for an exact prediction.
func ParseMembersCSV(r io.Reader) ([]MemberRow, error) {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = sniffComma(br)
	// Allow a space before a quoted field (a, "b"), but not with tabs,
	// where it would swallow empty cells.
	cr.TrimLeadingSpace = cr.Comma != '\t'

	cr.ReuseRecord = true

	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("members export: empty file: want a header with email, role, seat tier and org")
	}
	if err != nil {
		return nil, fmt.Errorf("members export: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		key := strings.ToLower(strings.TrimSpace(h))
		key = strings.NewReplacer(" ", "", "_", "", "-", "").Replace(key)
		for _, c := range csvColumns {
			for _, a := range c.aliases {
				if key != a {
					continue
				}
				if j, dup := col[c.name]; dup {
					return nil, fmt.Errorf("members export: header: columns %d (%q) and %d (%q) both give the %s", j+1, strings.TrimSpace(header[j]), i+1, strings.TrimSpace(h), c.name)
				}
				col[c.name] = i
			}
		}
	}
	var missing []string
	for _, c := range csvColumns {
		if _, ok := col[c.name]; c.required && !ok {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("members export: header lacks the %s column%s (have %s)", strings.Join(missing, ", "), plural(len(missing)), quoteAll(header))
	}
	originCol, hasOrigin := col["origin"]

	var rows []MemberRow
	var errs []error
	seen := map[[2]string]int{} // org, email → line
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				errs = append(errs, fmt.Errorf("line %d: %d fields, want %d as in the header", pe.StartLine, len(rec), len(header)))
				if len(errs) >= maxCSVErrors {
					break
				}
				continue
			}
			errs = append(errs, err)
			break
		}
		line, _ := cr.FieldPos(0)
		cell := func(name string) string { return strings.TrimSpace(rec[col[name]]) }
		row := MemberRow{
			Line:     line,
			Email:    cell("email"),
			SeatTier: cell("seat tier"),
			Org:      cell("org"),
			Origin:   resolve.OriginJIT,
		}
		var rowErrs []string
		if !strings.Contains(row.Email, "@") {
			rowErrs = append(rowErrs, fmt.Sprintf("email %q is not an email address", row.Email))
		}
		role, ok := parseRole(cell("role"))
		if !ok {
			rowErrs = append(rowErrs, fmt.Sprintf("role %q is not one of member, admin, owner, primary-owner", cell("role")))
		}
		row.Role = role
		if row.SeatTier == "" {
			rowErrs = append(rowErrs, "no seat tier")
		}
		if row.Org == "" {
			rowErrs = append(rowErrs, "no org")
		}
		if hasOrigin {
			if o := strings.ToLower(strings.TrimSpace(rec[originCol])); o != "" {
				row.Origin = resolve.Origin(o)
				if !row.Origin.Valid() {
					rowErrs = append(rowErrs, fmt.Sprintf("origin %q is not one of scim, jit, manual", rec[originCol]))
				}
			}
		}
		if len(rowErrs) == 0 {
			k := [2]string{match.Name(row.Org), match.Email(row.Email)}
			if first, dup := seen[k]; dup {
				rowErrs = append(rowErrs, fmt.Sprintf("%s is already a member of %s on line %d", row.Email, row.Org, first))
			} else {
				seen[k] = line
			}
		}
		if len(rowErrs) > 0 {
			errs = append(errs, fmt.Errorf("line %d: %s", line, strings.Join(rowErrs, "; ")))
			if len(errs) >= maxCSVErrors {
				errs = append(errs, errors.New("too many errors; stopping"))
				break
			}
			continue
		}
		rows = append(rows, row)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("members export: %w", errors.Join(errs...))
	}
	return rows, nil
}

// sniffComma returns the field separator of the header line: a comma,
// unless the line has none and has semicolons (spreadsheets in locales with a
// decimal comma write those) or tabs.
func sniffComma(br *bufio.Reader) rune {
	head, _ := br.Peek(4096)
	if i := strings.IndexAny(string(head), "\r\n"); i >= 0 {
		head = head[:i]
	}
	line := string(head)
	switch {
	case strings.Contains(line, ","):
		return ','
	case strings.Contains(line, ";"):
		return ';'
	case strings.Contains(line, "\t"):
		return '\t'
	}
	return ','
}

// parseRole reads a role in any case, with spaces or underscores allowed
// for the hyphen of primary-owner.
func parseRole(s string) (resolve.Role, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer(" ", "-", "_", "-").Replace(s)
	r := resolve.Role(s)
	return r, r.Grantable() || r == resolve.RolePrimaryOwner
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", strings.TrimSpace(s))
	}
	return strings.Join(q, ", ")
}
