package main

import (
	"flag"
	"io"
	"path/filepath"
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
		Plan:     runFigures{WallSec: 2.2, PeakRSS: 500 << 20},
		Floor:    runFigures{WallSec: 2},
		NoChange: runFigures{WallSec: 2.2, PeakRSS: 150 << 20, Requests: 10},
		Ratio:    1.1,
		Bound:    requestBound{Total: 12},
	}
	got := map[string]bool{}
	for _, tg := range targets(o, rep) {
		got[tg.Name] = tg.Met
	}
	want := map[string]bool{"plan peak RSS": false, "no-change peak RSS": true, "plan/floor": true, "no-change/floor": true,
		"no-change requests": true, "no-change exit code": true}
	for k, v := range want {
		if m, ok := got[k]; !ok || m != v {
			t.Errorf("target %q: met %v (present %v), want %v", k, m, ok, v)
		}
	}
	if _, ok := got["snapshot/its floor"]; ok {
		t.Error("snapshot targets without -all")
	}

	rep.Snapshot = &runFigures{WallSec: 3, PeakRSS: 300 << 20}
	rep.SnapshotFloor = &runFigures{WallSec: 2}
	rep.SnapshotRatio = 1.5
	rep.Offline = &runFigures{WallSec: 1.2, PeakRSS: 500 << 20}
	got = map[string]bool{}
	for _, tg := range targets(o, rep) {
		got[tg.Name] = tg.Met
	}
	for k, v := range map[string]bool{"snapshot/its floor": false, "snapshot peak RSS": true, "offline plan wall": true, "offline plan RSS": false} {
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
	o.pageCap, o.tier = 1000, gen.L
	for _, tg := range targets(o, rep) {
		if tg.Name == "plan/floor" && tg.Limit != "≤ 1.30" {
			t.Errorf("tier L: plan/floor limit %s, want ≤ 1.30", tg.Limit)
		}
		if tg.Name == "plan peak RSS" && tg.Limit != "≤ 1200 MiB" {
			t.Errorf("tier L: RSS limit %s, want ≤ 1200 MiB", tg.Limit)
		}
	}
}

func TestMedian(t *testing.T) {
	got := median([]runFigures{{WallSec: 3, Requests: 7, PeakRSS: 30}, {WallSec: 1, PeakRSS: 10}, {WallSec: 2, PeakRSS: 20}})
	if got.WallSec != 2 || got.Requests != 7 || got.PeakRSS != 20 {
		t.Errorf("median = %+v, want wall 2, RSS 20 and the first run's counts", got)
	}
	if got.Wall != (spread{Min: 1, Median: 2, Max: 3}) {
		t.Errorf("wall spread = %+v, want 1 / 2 / 3", got.Wall)
	}
}

func TestRSSBaseline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rss.json")
	rep := &report{Tier: "S", Seed: 1, PageCap: 1000, Plan: runFigures{PeakRSS: 100 << 20}, NoChange: runFigures{PeakRSS: 80 << 20}}
	if err := writeRSSBaseline(path, rep); err != nil {
		t.Fatal(err)
	}
	if _, err := checkRSSBaseline(path, rep); err != nil {
		t.Errorf("the same figures: %v", err)
	}
	grown := *rep
	grown.Plan.PeakRSS = 124 << 20 // within 25%
	if _, err := checkRSSBaseline(path, &grown); err != nil {
		t.Errorf("24%% growth: %v", err)
	}
	grown.Plan.PeakRSS = 126 << 20
	if _, err := checkRSSBaseline(path, &grown); err == nil || !strings.Contains(err.Error(), "plan RSS vs baseline") {
		t.Errorf("26%% growth: error %v, want one naming the plan's RSS", err)
	}
	other := *rep
	other.Tier = "M"
	if _, err := checkRSSBaseline(path, &other); err == nil || !strings.Contains(err.Error(), "tier S") {
		t.Errorf("another tier: error %v, want one naming the baseline's tier", err)
	}
}
