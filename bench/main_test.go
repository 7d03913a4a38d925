package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scimtest/gen"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args    string
		want    options
		wantErr string
	}{
		{args: "", want: options{tier: gen.M, seed: 1, latency: 20 * time.Millisecond, pageCap: 1000, concurrency: 4, repeat: 1, timeout: 10 * time.Minute}},
		{args: "-tier l -latency 0s -page-cap 100 -repeat 3 -json", want: options{tier: gen.L, seed: 1, pageCap: 100, concurrency: 4, repeat: 3, json: true, timeout: 10 * time.Minute}},
		{args: "-tier X", wantErr: "flag -tier"},
		{args: "-page-cap -1", wantErr: "flag -page-cap"},
		{args: "-repeat 0", wantErr: "flag -repeat"},
		{args: "extra", wantErr: `unexpected argument "extra"`},
	} {
		t.Run(tc.args, func(t *testing.T) {
			fs := flag.NewFlagSet("bench", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			got, err := parseArgs(fs, strings.Fields(tc.args))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	o := options{tier: gen.M, latency: 20 * time.Millisecond, pageCap: 1000}
	rep := &report{
		Plan:     runFigures{WallSec: 8, PeakRSS: 500 << 20},
		NoChange: runFigures{Requests: 10},
		Ratio:    1.4,
		Bound:    requestBound{Total: 12},
	}
	got := map[string]bool{}
	for _, tg := range targets(o, rep) {
		got[tg.Name] = tg.Met
	}
	want := map[string]bool{"plan wall time": true, "plan peak RSS": false, "plan/floor": true, "no-change requests": true, "no-change exit code": true}
	for k, v := range want {
		if m, ok := got[k]; !ok || m != v {
			t.Errorf("target %q: met %v (present %v), want %v", k, m, ok, v)
		}
	}
	o.pageCap = 100
	for _, tg := range targets(o, rep) {
		if tg.Name == "plan wall time" && tg.Limit != "≤ 30s" {
			t.Errorf("page cap 100: wall limit %s, want ≤ 30s", tg.Limit)
		}
		if tg.Name == "plan/floor" {
			t.Error("page cap 100: plan/floor is not a target")
		}
	}
}

func TestMedian(t *testing.T) {
	got := median([]runFigures{{WallSec: 3, Requests: 7}, {WallSec: 1}, {WallSec: 2}})
	if got.WallSec != 2 || got.Requests != 7 {
		t.Errorf("median = %+v, want wall 2 and the first run's counts", got)
	}
}
