package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// fix --format json lists the changes; --dry-run --exit-code is a CI gate
// (1 while something needs a change, 0 once pinned); fix names the files
// it changed.
func TestFixJSONAndExitCode(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testregistry.New(t))
	w.push("index library/node:latest")
	w.push("index library/nginx:1.27 as=old")
	w.push("index library/nginx:1.27")
	w.write(map[string]string{
		".digestbot.yaml": defaultConfig,
		"Dockerfile":      "FROM node\nFROM nginx:1.27@<old>\n",
		"compose.yaml":    "services:\n  a:\n    image: node:20 # digestbot:ignore\n",
	})
	out, errOut := w.mustRun(1, "fix", "--dry-run", "--exit-code", "--format", "json", "$ROOT")
	var got struct {
		Changes []struct {
			File, Old, New, Why, Status, Image, Tag string
			Line                                    int
			OldDigest                               *string `json:"old_digest"`
			NewDigest                               string  `json:"new_digest"`
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got.Changes) != 2 {
		t.Fatalf("changes = %+v", got.Changes)
	}
	c0, c1 := got.Changes[0], got.Changes[1]
	if c0.File != "Dockerfile" || c0.Line != 1 || c0.Old != "node" || c0.New != "node:latest@<node:latest>" || c0.Why != "pin" || c0.OldDigest != nil {
		t.Errorf("change 0 = %+v", c0)
	}
	if c1.Line != 2 || c1.Old != "nginx:1.27@<old>" || c1.New != "nginx:1.27@<nginx:1.27>" || c1.Why != "refresh" || c1.OldDigest == nil || c1.NewDigest != "<nginx:1.27>" {
		t.Errorf("change 1 = %+v", c1)
	}
	if !strings.Contains(errOut, "would change Dockerfile (2 refs)") || strings.Contains(errOut, "compose.yaml") {
		t.Errorf("stderr does not name the file that would change:\n%s", errOut)
	}
	// Nothing was written; --exit-code alone (writing) still says 1, and
	// names the file it changed on stdout.
	if got := w.read("Dockerfile"); got != "FROM node\nFROM nginx:1.27@<old>\n" {
		t.Errorf("dry run wrote: %q", got)
	}
	out, _ = w.mustRun(1, "fix", "--exit-code", "$ROOT")
	if !strings.Contains(out, "changed Dockerfile (2 refs)\n") {
		t.Errorf("fix does not name the file it changed:\n%s", out)
	}
	// Pinned now: the gate passes.
	out, errOut = w.mustRun(0, "fix", "--dry-run", "--exit-code", "$ROOT")
	if out != "" || strings.Contains(errOut, "would change") {
		t.Errorf("after fix, dry run: stdout %q stderr %q", out, errOut)
	}
	out, _ = w.mustRun(0, "fix", "--dry-run", "--format", "json", "$ROOT")
	if strings.TrimSpace(out) != `{
  "changes": []
}` {
		t.Errorf("no changes as JSON: %s", out)
	}
}

// --quiet lists only what needs action, and the summary of everything.
func TestQuiet(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testregistry.New(t))
	w.push("index library/node:20")
	w.write(map[string]string{
		".digestbot.yaml": defaultConfig,
		"Dockerfile":      "FROM node:20@<node:20>\nFROM node:20\nFROM scratch\nFROM $X\n",
	})
	out, _ := w.mustRun(1, "check", "-q", "$ROOT")
	if out != "Dockerfile:2:6  unpinned  node:20\n3 refs in 1 file: 1 unpinned, 1 ok, 1 skipped\n" {
		t.Errorf("check -q:\n%s", out)
	}
	out, _ = w.mustRun(0, "scan", "--quiet", "$ROOT/Dockerfile")
	if !strings.HasPrefix(out, "Dockerfile:2:6  unpinned  node:20\n") || strings.Count(out, "\n") != 2 {
		t.Errorf("scan --quiet:\n%s", out)
	}
	// Everything ok: only the summary.
	w.write(map[string]string{"Dockerfile": "FROM node:20@<node:20>\n"})
	out, _ = w.mustRun(0, "check", "--quiet", "$ROOT")
	if out != "1 ref in 1 file: 1 ok\n" {
		t.Errorf("check --quiet, all ok:\n%s", out)
	}
}
