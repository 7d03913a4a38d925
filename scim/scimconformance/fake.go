package scimconformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/scimsync/scimsync/scim"
)

// FakeToken is the bearer token FakeServer accepts.
const FakeToken = "scimconformance-fake-token"

// FakeServer is a NewServer: an httptest server whose GET /scim/v2/Users
// lists users users (ids u00001, u00002, …) with RFC 7644 index paging and
// the given faults. It implements nothing else.
func FakeServer(t *testing.T, users int, faults Faults) (baseURL, token string) {
	t.Helper()
	srv := httptest.NewServer(NewFakeHandler(users, faults))
	t.Cleanup(srv.Close)
	return srv.URL + "/scim/v2", FakeToken
}

// NewFakeHandler returns FakeServer's handler, for mounting elsewhere.
func NewFakeHandler(users int, faults Faults) http.Handler {
	f := &fake{faults: faults}
	for i := 1; i <= users; i++ {
		f.addUser()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /scim/v2/Users", f.list)
	return mux
}

type fake struct {
	faults Faults
	mu     sync.Mutex
	users  []scim.User
}

func (f *fake) addUser() {
	n := len(f.users) + 1
	id := fmt.Sprintf("u%05d", n)
	f.users = append(f.users, scim.User{
		Schemas:  []string{scim.SchemaUser},
		ID:       id,
		UserName: fmt.Sprintf("user%05d@example.gov", n),
		Emails:   []scim.Email{{Value: fmt.Sprintf("User%05d@Example.gov", n), Type: "work", Primary: true}},
		Active:   n%10 != 0,
		Meta:     scim.Meta{ResourceType: "User", Version: fmt.Sprintf(`W/"%s-1"`, id)},
	})
}

func (f *fake) list(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+FakeToken {
		writeError(w, http.StatusUnauthorized, "", "invalid bearer token")
		return
	}
	q := r.URL.Query()
	start, count := 1, 100
	if v := q.Get("startIndex"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalidValue", "startIndex is not an integer")
			return
		}
		start = max(n, 1)
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalidValue", "count is not an integer")
			return
		}
		count = max(n, 0)
	}
	requested := start
	if f.faults.PageCap > 0 {
		count = min(count, f.faults.PageCap)
	}
	if f.faults.Duplicate && start > 1 {
		start--
	}
	if f.faults.IgnoreStartIndex {
		start = 1
	}

	f.mu.Lock()
	total := len(f.users)
	var page []scim.User
	if start <= total {
		page = append(page, f.users[start-1:min(start-1+count, total)]...)
	}
	if f.faults.ChangeTotal && requested == 1 {
		f.addUser()
	}
	f.mu.Unlock()
	if f.faults.EmptyPages && requested > 1 {
		page = nil
	}

	body, err := json.Marshal(scim.ListResponse[scim.User]{
		Schemas:      []string{scim.SchemaListResponse},
		TotalResults: total,
		StartIndex:   start,
		ItemsPerPage: len(page),
		Resources:    append([]scim.User{}, page...),
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/scim+json")
	if f.faults.Truncate && requested > 1 {
		// Announce the whole body, send half: net/http closes the
		// connection when a handler writes less than Content-Length.
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body[:len(body)/2])
		return
	}
	w.Write(body)
}

func writeError(w http.ResponseWriter, status int, scimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"schemas":  []string{scim.SchemaError},
		"status":   strconv.Itoa(status),
		"scimType": scimType,
		"detail":   detail,
	})
}
