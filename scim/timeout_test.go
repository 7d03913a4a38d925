package scim_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
)

// A server that dribbles its answer (a slow loris) is cut off by
// RequestTimeout, whatever the caller's context: the read fails, typed,
// instead of hanging, and the attempt is not repeated.
func TestRequestTimeoutCutsOffSlowLoris(t *testing.T) {
	body := `{"schemas":["` + scim.SchemaListResponse + `"],"totalResults":0,"Resources":[]}` + strings.Repeat(" ", 4096)
	var attempts atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		attempts.Add(1)
		w.Header().Set("Content-Type", "application/scim+json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		for i := 0; i < len(body); i++ {
			w.Write([]byte{body[i]})
			w.(http.Flusher).Flush()
			select {
			case <-time.After(20 * time.Millisecond):
			case <-r.Context().Done():
				return
			case <-stop:
				return
			}
		}
	})
	c, _ := setup(t, h, func(cfg *scim.Config) { cfg.RequestTimeout = 150 * time.Millisecond })
	start := time.Now()
	_, err := c.ListUsers(context.Background())
	if err == nil {
		t.Fatal("a body dribbled over 80s was read within the timeout")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want one matching context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the read took %v with a 150ms request timeout", d)
	}
	if n := attempts.Load(); n != 1 {
		t.Errorf("%d attempts; a timed-out attempt must not be repeated", n)
	}
}

// A caller-supplied client without a Timeout gets RequestTimeout too.
func TestRequestTimeoutOwnHTTPClient(t *testing.T) {
	if scim.DefaultRequestTimeout <= 0 || scim.DefaultRequestTimeout > 10*time.Minute {
		t.Fatalf("DefaultRequestTimeout = %v", scim.DefaultRequestTimeout)
	}
	slow := make(chan struct{})
	defer close(slow)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-slow:
		case <-r.Context().Done():
		}
	})
	c, _ := setup(t, h, func(cfg *scim.Config) {
		cfg.HTTPClient = &http.Client{}
		cfg.RequestTimeout = 100 * time.Millisecond
	})
	if _, err := c.ListUsers(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a timeout", err)
	}
}

// A server that accepts the connection and never answers fails naming the
// URL and the likely fix, as an unreachable one does (DESIGN §8a; review,
// 2026-12-07: it said only "timeout awaiting response headers").
func TestSilentServerNamesTheFix(t *testing.T) {
	silent := make(chan struct{})
	defer close(silent)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-silent:
		case <-r.Context().Done():
		}
	})
	c, _ := setup(t, h, func(cfg *scim.Config) { cfg.RequestTimeout = 100 * time.Millisecond })
	_, err := c.ListUsers(context.Background())
	var te *scim.TargetError
	if !errors.As(err, &te) || !strings.Contains(te.Fix, "accepted the connection but sent no answer in time") {
		t.Fatalf("err = %v, want a TargetError with the fix", err)
	}
}
