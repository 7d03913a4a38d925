package scim

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeOrgResources feeds list response bodies to the page decoder for
// the resources FuzzDecodeListResponse does not cover: groups with their
// members, organizations with mappings, seats and exceptions, and members.
// Nothing may panic, and a page it accepts is consistent and re-encodes.
func FuzzDecodeOrgResources(f *testing.F) {
	f.Add([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"Resources":[{"id":"g1","displayName":"ops","members":[{"value":"u1","type":"User"},{"value":"g2","type":"Group","$ref":"../Groups/g2"}]}]}`))
	f.Add([]byte(`{"totalResults":2,"Resources":[{"id":"o1","name":"hq","parent":"p","mappings":[{"group":"g1","role":"owner","seatTier":"premium"}],"seats":{"premium":3},"exceptions":[{"email":"a@x.gov","until":"2027-03-31","reason":"r"}],"meta":{"version":"W/\"4\""}},{"id":"p","name":"agency","mode":"staged","loginDomains":["x.gov"],"seatTiers":["standard","premium"]}]}`))
	f.Add([]byte(`{"TOTALRESULTS":1,"resources":[{"ID":"m1","organization":"o1","email":"A@X.gov","userId":"u1","role":"primary-owner","seatTier":"standard","origin":"scim","meta":{"lastModified":"2026-01-01T00:00:00Z"}}]}`))
	f.Add([]byte(`{"totalResults":1,"Resources":[{"id":"o1","seats":{"premium":"3"},"mappings":{"group":"g"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkPage[Group](t, body, func(g Group) string { return g.ID })
		checkPage[Organization](t, body, func(o Organization) string { return o.ID })
		checkPage[Member](t, body, func(m Member) string { return m.ID })
	})
}

func checkPage[T any](t *testing.T, body []byte, id func(T) string) {
	t.Helper()
	p, err := decodePage[T](body)
	if err != nil {
		return
	}
	if p.total < 0 || len(p.items) != len(p.ids) {
		t.Fatalf("%T page: total %d, %d items, %d ids", p.items, p.total, len(p.items), len(p.ids))
	}
	for i, want := range p.ids {
		if want == "" || id(p.items[i]) != want {
			t.Fatalf("%T %d: id %q, decoded id %q", p.items[i], i, want, id(p.items[i]))
		}
	}
	if _, err := json.Marshal(p.items); err != nil {
		t.Fatalf("re-encoding %T: %v", p.items, err)
	}
}
