package agent

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hookServer answers each request with the status answer(n) gives the
// n-th (from 1), and counts them.
func hookServer(t *testing.T, answer func(n int, w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(int(n.Add(1)), w)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func testNotifier(url string) *notifier {
	return &notifier{url: url + "/SECRETpath", format: FormatJSON, client: &http.Client{Timeout: 5 * time.Second}, attempts: 3, backoff: time.Millisecond, maxDelay: 3 * time.Second}
}

func TestNotifyHonoursRetryAfter(t *testing.T) {
	srv, n := hookServer(t, func(i int, w http.ResponseWriter) {
		if i == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	start := time.Now()
	if err := testNotifier(srv.URL).send(context.Background(), Event{Kind: EventDrift}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("retried after %v, want the Retry-After of 1s", took)
	}
	if n.Load() != 2 {
		t.Errorf("%d requests, want 2", n.Load())
	}
}

func TestNotifyBoundedAttempts(t *testing.T) {
	srv, n := hookServer(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
	err := testNotifier(srv.URL).send(context.Background(), Event{Kind: EventDrift})
	var se *errWebhookStatus
	if !errors.As(err, &se) || se.status != http.StatusServiceUnavailable || n.Load() != 3 {
		t.Errorf("err = %v after %d requests, want a 503 after 3", err, n.Load())
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error leaks the URL: %v", err)
	}
}

func TestNotifyDoesNotRetryClientErrors(t *testing.T) {
	srv, n := hookServer(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadRequest) })
	err := testNotifier(srv.URL).send(context.Background(), Event{Kind: EventDrift})
	if err == nil || n.Load() != 1 {
		t.Errorf("err = %v after %d requests, want a failure after 1", err, n.Load())
	}
}

func TestNotifyUnreachableKeepsURLSecret(t *testing.T) {
	srv, _ := hookServer(t, func(int, http.ResponseWriter) {})
	url := srv.URL
	srv.Close()
	err := testNotifier(url).send(context.Background(), Event{Kind: EventDrift})
	if err == nil || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), url) {
		t.Errorf("err = %v, want a failure without the URL", err)
	}
}

func TestNotifyGivesUpWhenContextEnds(t *testing.T) {
	srv, _ := hookServer(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := testNotifier(srv.URL).send(ctx, Event{Kind: EventDrift})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "after 1 attempts: webhook answered 503") {
		t.Errorf("err = %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("gave up after %v", time.Since(start))
	}
}

func TestWebhookBackoff(t *testing.T) {
	now := time.Now()
	resp := func(v string) *http.Response {
		return &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {v}}}
	}
	for _, tt := range []struct {
		attempt int
		resp    *http.Response
		want    time.Duration
	}{
		{0, nil, time.Second},
		{1, nil, 2 * time.Second},
		{5, nil, 10 * time.Second}, // capped
		{0, resp("3"), 3 * time.Second},
		{0, resp("3600"), 10 * time.Second}, // capped
		{2, resp("0"), 4 * time.Second},     // no delay given: the backoff
		{0, resp("soon"), time.Second},
	} {
		if got := webhookBackoff(time.Second, 10*time.Second, tt.attempt, tt.resp); got != tt.want {
			t.Errorf("attempt %d, %v: %v, want %v", tt.attempt, tt.resp, got, tt.want)
		}
	}
	date := resp(now.Add(5 * time.Second).UTC().Format(http.TimeFormat))
	if got := webhookBackoff(time.Second, time.Minute, 0, date); got < 3*time.Second || got > 5*time.Second {
		t.Errorf("Retry-After as a date: %v, want about 5s", got)
	}
}
