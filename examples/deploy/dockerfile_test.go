package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// dockerInstr is one Dockerfile instruction, continuation lines joined.
type dockerInstr struct{ op, args string }

func parseDockerfile(t *testing.T, path string) []dockerInstr {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []dockerInstr
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		op, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, dockerInstr{strings.ToUpper(op), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	instrs := parseDockerfile(t, "Dockerfile")
	known := map[string]bool{"FROM": true, "ARG": true, "ENV": true, "RUN": true, "COPY": true, "USER": true, "EXPOSE": true, "ENTRYPOINT": true, "CMD": true, "WORKDIR": true, "LABEL": true}
	var stages []string // FROM lines
	var build strings.Builder
	last := -1
	for i, in := range instrs {
		if !known[in.op] {
			t.Errorf("unknown instruction %s %s", in.op, in.args)
		}
		if in.op == "FROM" {
			stages = append(stages, in.args)
			last = i
		}
		if len(stages) == 1 && (in.op == "RUN" || in.op == "ENV") {
			build.WriteString(in.args + "\n")
		}
	}
	if len(stages) < 2 {
		t.Fatalf("want a build stage and a runtime stage, got %v", stages)
	}
	b := build.String()
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "cmd/scimsync", "-X main.buildVersion="} {
		if !strings.Contains(b, want) {
			t.Errorf("the build stage lacks %s", want)
		}
	}
	final := stages[len(stages)-1]
	if !regexp.MustCompile(`^(gcr\.io/distroless/static(-debian\d+)?(:[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?|scratch)$`).MatchString(final) {
		t.Errorf("the runtime image %q is not distroless static or scratch", final)
	}
	var user, entry string
	copied := false
	for _, in := range instrs[last:] {
		switch in.op {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "COPY":
			copied = copied || strings.Contains(in.args, "--from=build") && strings.Contains(in.args, "scimsync")
		case "RUN":
			t.Errorf("the runtime stage runs %q: it has no shell", in.args)
		}
	}
	if final == "scratch" && !strings.Contains(strings.Join(func() []string {
		var s []string
		for _, in := range instrs[last:] {
			s = append(s, in.args)
		}
		return s
	}(), "\n"), "ca-certificates") {
		t.Errorf("a scratch image needs CA certificates copied in")
	}
	if !copied {
		t.Errorf("the runtime stage does not copy the binary from the build stage")
	}
	if uid, _, _ := strings.Cut(user, ":"); user == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: the image must run as non-root", user)
	}
	if !strings.HasPrefix(entry, `["`) {
		t.Errorf("ENTRYPOINT %s: want the exec form", entry)
	}
}
