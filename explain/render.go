package explain

import (
	"encoding/json"
	"fmt"
	"github.com/scimsync/scimsync/internal/termsafe"
	"io"
	"strings"

	"github.com/scimsync/scimsync/diff"
)

// RenderJSON writes the reports as one indented JSON document:
// {"format_version": "1", "people": [...], "not_computed": [...]}, the
// last the finding kinds a trace leaves to plan (NotComputed).
func RenderJSON(w io.Writer, reports []Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if reports == nil {
		reports = []Report{}
	}
	if err := enc.Encode(struct {
		FormatVersion string   `json:"format_version"`
		People        []Report `json:"people"`
		NotComputed   []string `json:"not_computed"`
	}{FormatVersion, reports, NotComputed}); err != nil {
		return fmt.Errorf("rendering explanation: %w", err)
	}
	return nil
}

// RenderText writes the reports for people, one block per email, and a
// last line naming the findings a trace leaves to plan (NotComputed).
func RenderText(w io.Writer, reports []Report) error {
	var b strings.Builder
	for i, r := range reports {
		if i > 0 {
			b.WriteByte('\n')
		}
		text(&b, r)
	}
	fmt.Fprintf(&b, "\nNot traced (see scimsync plan): %s.\n", strings.Join(NotComputed, ", "))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("rendering explanation: %w", err)
	}
	return nil
}

func text(b *strings.Builder, r Report) {
	// Every line is cleaned whole (termsafe), so that no field, cleaned
	// or not where it is formatted, reaches the terminal raw.
	line := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		b.WriteString(clean(fmt.Sprintf(format, args...)))
		b.WriteByte('\n')
	}
	line(0, "%s", clean(r.Email))
	if !r.Found {
		line(1, "matches no SCIM user, member, exception or protected user")
		if len(r.Suggestions) > 0 {
			line(1, "did you mean %s?", quoted(r.Suggestions))
		}
		return
	}
	if len(r.Users) == 0 {
		line(1, "SCIM users: none match")
	} else {
		line(1, "SCIM users:")
	}
	for _, u := range r.Users {
		state := "active"
		if !u.Active {
			state = "inactive"
		}
		line(2, "%s (id %s), %s, matched by %s", clean(u.UserName), clean(u.ID), state, strings.Join(u.By, ", "))
		if len(u.Paths) == 0 {
			line(3, "in no group")
		}
		for _, p := range u.Paths {
			line(3, "group path: %s", arrows(p))
		}
		if u.PathsCut {
			line(3, "(more paths than %d not shown)", MaxPaths)
		}
	}
	if r.Protected {
		line(1, "protected: listed in policy.protectedUsers (a removal blocks apply)")
	}
	if len(r.Orgs) == 0 {
		line(1, "no child organization has a member, a mapping or an exception for it")
	}
	for _, o := range r.Orgs {
		managed := ""
		if !o.Managed {
			managed = " (not in the spec: the server's configuration)"
		}
		line(1, "%s%s:", clean(o.Org), managed)
		if len(o.Mappings) == 0 {
			line(2, "mappings:       none match")
		}
		for k, m := range o.Mappings {
			label := "mappings:      "
			if k > 0 {
				label = "               "
			}
			inactive := ""
			if !m.Active {
				inactive = " (user inactive: entitles nobody)"
			}
			line(2, "%s %s → %s/%s, via %s%s", label, clean(m.Group), m.Role, m.SeatTier, arrows(m.Path), inactive)
		}
		if len(o.DeletedGroups) > 0 {
			ids := make([]string, len(o.DeletedGroups))
			for i, id := range o.DeletedGroups {
				ids[i] = clean(id)
			}
			line(2, "deleted groups: mapped, but no longer on the server: %s", strings.Join(ids, ", "))
		}
		if e := o.Entitled; e != nil {
			deciding := "role and tier from " + clean(e.RoleGroup)
			if e.TierGroup != e.RoleGroup {
				deciding = "role from " + clean(e.RoleGroup) + ", tier from " + clean(e.TierGroup)
			}
			line(2, "resolves to:    %s/%s (%s)", e.Role, e.SeatTier, deciding)
		} else {
			line(2, "resolves to:    not entitled")
		}
		if m := o.Member; m != nil {
			link := ""
			if m.UserID != "" {
				link = ", user " + clean(m.UserID)
			}
			po := ""
			if o.PrimaryOwner {
				po = " (the primary owner: never removed, re-roled or linked)"
			}
			line(2, "member now:     %s %s/%s, origin %s%s%s", clean(m.Email), m.Role, m.SeatTier, m.Origin, link, po)
		} else {
			line(2, "member now:     not a member")
		}
		// The server's exception the plan removes or replaces first (what
		// is), then the desired one (what will be).
		label := "exception:     "
		for _, x := range []*Exception{o.ServerException, o.Exception} {
			if x == nil {
				continue
			}
			line(2, "%s %s", label, exception(x))
			label = "               "
		}
		if x := o.ExclusiveOrgs; x != nil {
			switch {
			case x.InPlay:
				line(2, "exclusiveOrgs:  in play: also entitled in %s", strings.Join(x.Others, ", "))
			default:
				line(2, "exclusiveOrgs:  on, not in play")
			}
		}
		line(2, "this plan:      %s", effect(o.Plan))
		line(2, "full mode:      %s", effect(o.Full))
	}
	for _, f := range r.Findings {
		line(1, "finding: %s %s: %s", f.Severity, f.Kind, clean(f.Message))
	}
}

// exception is "holds through 2027-06-30 (badge pending), from the spec";
// a server's exception the plan removes or replaces says so.
func exception(x *Exception) string {
	state := "holds through " + x.Until
	if x.Lapsed {
		state = "lapsed on " + x.Until
	}
	reason := ""
	if x.Reason != "" {
		reason = " (" + clean(x.Reason) + ")"
	}
	s := state + reason + ", from the " + x.Source
	switch x.Plan {
	case diff.ActionRemove:
		s += "; this plan removes it"
	case diff.ActionChange:
		s += "; this plan replaces it with the spec's"
	}
	return s
}

func effect(e Effect) string {
	var s string
	switch e.Action {
	case ActionNone:
		s = "nothing"
	case ActionKeep:
		s = "stays"
		if e.After != nil {
			s += " " + assign(e.After)
		}
	case diff.ActionAdd:
		s = "adds as " + assign(e.After)
	case diff.ActionChange:
		s = "changes " + assign(e.Before) + " → " + assign(e.After)
	case diff.ActionLink:
		s = "links to its SCIM user, " + assign(e.After)
	case diff.ActionRemove:
		s = "removes"
	default:
		s = string(e.Action)
	}
	if e.Via != "" {
		s += ", via " + clean(e.Via)
	}
	if e.Reason != "" {
		s += " (" + clean(e.Reason) + ")"
	}
	// The plan's readiness marks, in the plan's words.
	switch {
	case e.ExceptionUntil != "" && e.ExceptionLapsed:
		s += " (exception lapsed " + e.ExceptionUntil + ")"
	case e.ExceptionUntil != "":
		s += " (exception until " + e.ExceptionUntil + " does not keep them)"
	}
	return s
}

func assign(a *diff.Assignment) string {
	if a == nil {
		return ""
	}
	s := a.Role + "/" + a.SeatTier
	if a.Origin != "" {
		s += " " + a.Origin
	}
	return s
}

func arrows(path []string) string {
	out := make([]string, len(path))
	for i, p := range path {
		out[i] = clean(p)
	}
	return strings.Join(out, " → ")
}

func quoted(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(out, ", ")
}

// clean is termsafe.Clean, the plan's rule: a name from the server or the
// spec cannot move the cursor, forge a line or reverse the text.
func clean(s string) string { return termsafe.Clean(s) }
