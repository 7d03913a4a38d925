package scim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A front server that adds look-alike attributes after the real ones must
// not change what the client reads: names match exactly or
// case-insensitively (RFC 7643 §2.1), never with "_" or "-" folded away
// (issue 14, High #1).
const lookAlikePage = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,"Resources":[` +
	`{"id":"u1","_id":"other-u1","userName":"a@x.gov","user_name":"evil@x.gov","active":true,"act_ive":false,"emails":[{"value":"a@x.gov","va-lue":"evil@x.gov"}]},` +
	`{"id":"u2","_id":"other-u2","userName":"b@x.gov","active":false,"activ____e":"TRUE"}]}`

func TestDecodeDoesNotFoldDelimitersOutOfNames(t *testing.T) {
	check := func(t *testing.T, users []User) {
		t.Helper()
		if len(users) != 2 {
			t.Fatalf("%d users, want 2", len(users))
		}
		u1, u2 := users[0], users[1]
		if u1.ID != "u1" || u2.ID != "u2" {
			t.Errorf("ids %q, %q: an _id attribute was read as id", u1.ID, u2.ID)
		}
		if u1.UserName != "a@x.gov" {
			t.Errorf("userName %q: user_name was read as userName", u1.UserName)
		}
		if !u1.Active {
			t.Error("u1 inactive: act_ive was read as active")
		}
		if u2.Active {
			t.Error("u2 active: activ____e was read as active")
		}
		if len(u1.Emails) != 1 || u1.Emails[0].Value != "a@x.gov" {
			t.Errorf("emails %+v: va-lue was read as value", u1.Emails)
		}
	}
	t.Run("fast path", func(t *testing.T) {
		p, ok := decodePageFast[User]([]byte(lookAlikePage))
		if !ok {
			t.Fatal("the one-pass decoder refused the page")
		}
		check(t, p.items)
	})
	t.Run("general path", func(t *testing.T) {
		p, err := decodePageSlow[User]([]byte(lookAlikePage))
		if err != nil {
			t.Fatal(err)
		}
		check(t, p.items)
	})
	t.Run("through ListUsers", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/scim+json")
			w.Write([]byte(lookAlikePage))
		}))
		defer srv.Close()
		c, err := New(Config{BaseURL: srv.URL + "/scim/v2", Token: "t0k"})
		if err != nil {
			t.Fatal(err)
		}
		users, err := c.ListUsers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		check(t, users)
	})
	t.Run("case still folds", func(t *testing.T) {
		var u User
		if err := unmarshal([]byte(`{"ID":"u1","USERNAME":"a@x.gov","Active":"True","Emails":[{"VALUE":"a@x.gov"}]}`), &u); err != nil {
			t.Fatal(err)
		}
		if u.ID != "u1" || u.UserName != "a@x.gov" || !u.Active || len(u.Emails) != 1 || u.Emails[0].Value != "a@x.gov" {
			t.Errorf("case-insensitive names not matched: %+v", u)
		}
	})
}
