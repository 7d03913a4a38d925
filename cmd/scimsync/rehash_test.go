package main

import (
	"encoding/json"
	"os"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/scimsync/scimsync/diff"
)

func init() {
	if _, dup := scriptCmds["rehash"]; dup {
		panic("script command rehash registered twice")
	}
	scriptCmds["rehash"] = cmdRehash
}

// cmdRehash forges a saved plan as an attacker with the file and the code
// would, after editing it:
//
//	rehash PLAN
//
// It recomputes every step's ops hash from its ops and the plan_hash over the
// edited content, and writes PLAN back, so that the file is internally
// consistent and only apply's recomputation of the plan can tell.
func cmdRehash(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: rehash PLAN")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	var p diff.Plan
	ts.Check(json.Unmarshal(data, &p))
	for i := range p.Steps {
		p.Steps[i].OpsHash = diff.OpsHash(p.Steps[i].Ops)
	}
	p.PlanHash = ""
	out, err := diff.MarshalPlanFile(&p)
	ts.Check(err)
	ts.Check(os.WriteFile(path, out, 0o644))
}
