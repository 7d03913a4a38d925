package retryafter

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"   ", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999", maxWait, true},
		{"Mon, 07 Dec 2026 02:00:30 GMT", 30 * time.Second, true},
		{"Monday, 07-Dec-26 02:01:00 GMT", time.Minute, true}, // RFC 850
		{"Mon Dec  7 02:00:05 2026", 5 * time.Second, true},   // asctime
		{"Sun, 06 Dec 2026 02:00:00 GMT", 0, true},            // in the past
	}
	for _, tt := range tests {
		got, ok := Parse(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
