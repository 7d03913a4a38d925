package main

import (
	"encoding/json"
	"os"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	if _, dup := scriptCmds["planhash"]; dup {
		panic("script command planhash registered twice")
	}
	scriptCmds["planhash"] = cmdPlanHash
}

// cmdPlanHash reads a saved plan's hash for the rest of the script:
//
//	planhash PLAN
//
// It sets $PLAN_HASH12 to the first 12 hex digits of PLAN's plan_hash, as
// apply prints them ("Applying plan …"). A saved plan records its spec's
// absolute path, so its hash depends on the script's $WORK.
func cmdPlanHash(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: planhash PLAN")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var p struct {
		PlanHash string `json:"plan_hash"`
	}
	ts.Check(json.Unmarshal(data, &p))
	if len(p.PlanHash) < 12 {
		ts.Fatalf("planhash: %s has no plan_hash", args[0])
	}
	ts.Setenv("PLAN_HASH12", p.PlanHash[:12])
}
