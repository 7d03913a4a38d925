package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/internal/retryafter"
)

// Webhook formats.
const (
	// FormatSlack posts {"text": "..."}, which Slack incoming webhooks,
	// Mattermost, Rocket.Chat and Teams workflows accept.
	FormatSlack = "slack"
	// FormatJSON posts an Event as JSON.
	FormatJSON = "json"
)

// EventKind says why the agent notifies.
type EventKind string

// Event kinds. Each fires once per change of state, never on every tick.
const (
	// EventDrift: the tenant stopped matching the spec.
	EventDrift EventKind = "drift"
	// EventDriftChanged: the tenant still drifts, but differently (the
	// planned changes are not the ones notified last).
	EventDriftChanged EventKind = "drift_changed"
	// EventResolved: the tenant matches the spec again.
	EventResolved EventKind = "resolved"
	// EventApplied: --auto-apply applied a plan.
	EventApplied EventKind = "applied"
	// EventFailing: runs failed FailureThreshold times in a row.
	EventFailing EventKind = "failing"
	// EventRecovered: a run succeeded after EventFailing.
	EventRecovered EventKind = "recovered"
	// EventInvalidSpec: the spec on disk is invalid (once per content).
	EventInvalidSpec EventKind = "invalid_spec"
	// EventExceptionExpiring: an exception entered the notice window
	// (policy.exceptionNoticeDays before it lapses); once per exception
	// and until date, not on every run (notice.go).
	EventExceptionExpiring EventKind = "exception_expiring"
)

// Event is one notification. With --webhook-format json it is the body as
// it is; the Slack format sends Text only.
type Event struct {
	Kind   EventKind `json:"event"`
	Tenant string    `json:"tenant,omitempty"`
	Time   time.Time `json:"time"`
	// Text is the one-paragraph human message.
	Text string `json:"text"`
	// Summary and Orgs describe the plan for drift, drift_changed,
	// resolved and applied.
	Summary *Summary   `json:"summary,omitempty"`
	Orgs    []OrgDrift `json:"orgs,omitempty"`
	// AwaitingApproval is set on drift events when --auto-apply is on but
	// the plan removes members, so a person must apply it.
	AwaitingApproval bool `json:"awaiting_approval,omitempty"`
	// Error and Failures describe failing and invalid_spec events.
	Error    string `json:"error,omitempty"`
	Failures int    `json:"consecutive_failures,omitempty"`
	// Exception is the exception an exception_expiring event announces:
	// org, email, until, days_left, reason, keeps_nobody, as the plan's
	// expiring list.
	Exception *diff.Expiring `json:"exception,omitempty"`
}

// OrgDrift is the drift of one organization, by kind.
type OrgDrift struct {
	Org   string         `json:"org"`
	Kinds map[string]int `json:"changes"`
}

// notifier posts events to one webhook, retrying with exponential backoff.
// Its errors never contain the URL.
type notifier struct {
	url      string
	format   string
	client   *http.Client
	attempts int
	backoff  time.Duration // first delay; doubled after each attempt
	maxDelay time.Duration
}

// errWebhookStatus is a non-2xx answer from the webhook.
type errWebhookStatus struct{ status int }

func (e *errWebhookStatus) Error() string {
	return fmt.Sprintf("webhook answered %d %s", e.status, http.StatusText(e.status))
}

// body renders ev in the notifier's format.
func (n *notifier) body(ev Event) ([]byte, error) {
	if n.format == FormatJSON {
		return json.Marshal(ev)
	}
	return json.Marshal(struct {
		Text string `json:"text"`
	}{slackEscape.Replace(ev.Text)})
}

// slackEscape makes a message's text inert as Slack markup, the three
// characters Slack asks to be escaped: a quoted reason or name holding
// "<!channel>" would otherwise ping everyone, and "<https://…|text>" show
// a link under other words.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// send posts ev, retrying network errors, 429 and 5xx answers up to
// attempts times in all (go-retryablehttp), waiting as the server's
// Retry-After says (capped at maxDelay) or else backoff, doubled after each
// attempt. It gives up early when ctx ends.
func (n *notifier) send(ctx context.Context, ev Event) error {
	body, err := n.body(ev)
	if err != nil {
		return fmt.Errorf("encoding webhook body: %w", err)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, n.url, body)
	if err != nil {
		// The URL was checked when the agent started; never echo it.
		return errors.New("sending webhook: building webhook request: invalid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "scimsync-agent")
	attempts := 0
	var last error // the last attempt's failure, without the URL
	rc := &retryablehttp.Client{
		HTTPClient:   n.client,
		RetryMax:     max(n.attempts-1, 0),
		RetryWaitMin: n.backoff,
		RetryWaitMax: n.maxDelay,
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			attempts++
			if err != nil {
				last = redactURLError(err)
				return ctx.Err() == nil, nil
			}
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				return false, nil
			}
			last = &errWebhookStatus{status: resp.StatusCode}
			return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, nil
		},
		Backoff:      webhookBackoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	resp, err := rc.Do(req)
	if err != nil {
		if ctx.Err() != nil && last != nil {
			return fmt.Errorf("sending webhook: %w (after %d attempts: %w)", ctx.Err(), attempts, last)
		}
		return fmt.Errorf("sending webhook: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return fmt.Errorf("sending webhook: %w", &errWebhookStatus{status: resp.StatusCode})
}

// webhookBackoff is the wait before retry attempt+1: the answer's
// Retry-After when it gives a positive delay, else first doubled attempt
// times; at most most.
func webhookBackoff(first, most time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := retryafter.Parse(resp.Header.Get("Retry-After"), time.Now()); ok && d > 0 {
			return min(d, most)
		}
	}
	d := first
	for range attempt {
		if d >= most {
			break
		}
		d *= 2
	}
	return min(d, most)
}

// redactURLError strips the URL from a *url.Error, keeping the operation
// and the cause: the webhook URL is a secret.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("webhook %s: %w", ue.Op, ue.Err)
	}
	return err
}

// checkWebhookURL validates a webhook URL without ever printing it.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("webhook URL does not parse")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return errors.New("webhook URL must be http or https")
	}
	if u.Host == "" {
		return errors.New("webhook URL has no host")
	}
	return nil
}
