package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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

// --verbose says which config was loaded, each registry's host and
// credential source, and the request counts; --debug adds one line per
// request. Neither ever prints the credential.
func TestVerboseNeverPrintsSecrets(t *testing.T) {
	reg := testregistry.New(t, testregistry.WithBasicAuth("robot", "s3cret-pass"))
	w := newWorld(t, reg)
	w.push("index library/node:20")
	w.write(map[string]string{".digestbot.yaml": defaultConfig, "Dockerfile": "FROM node:20\n"})
	auth := base64.StdEncoding.EncodeToString([]byte("robot:s3cret-pass"))
	dockerConfig(t, `{"auths": {"`+reg.Host()+`": {"auth": "`+auth+`"}}}`)

	_, stderr := w.mustRun(1, "check", "-v", "$ROOT")
	for _, want := range []string{
		"digestbot: config: $ROOT/.digestbot.yaml\n",
		"digestbot: registry docker.io: host HOST (registries.docker.io.host), tls disabled, credential: the Docker config\n",
		"digestbot: requests: ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("check -v: no %q in\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "debug:") {
		t.Errorf("-v printed request lines:\n%s", stderr)
	}
	stdout, stderr := w.mustRun(1, "check", "--debug", "$ROOT")
	if !regexp.MustCompile(`digestbot: debug: (HEAD|GET) http://HOST/v2/library/node/manifests/20 → 200 \(\d+\.\dms\)`).MatchString(stderr) {
		t.Errorf("--debug: no request line in\n%s", stderr)
	}
	for _, out := range []string{stdout, stderr} {
		if strings.Contains(out, "s3cret") || strings.Contains(out, auth) || strings.Contains(out, "robot:") || strings.Contains(out, "Authorization") {
			t.Errorf("secret in output:\n%s", out)
		}
	}
	// No config anywhere up to the repository root: said so.
	w2 := newWorld(t, reg)
	if err := os.Mkdir(filepath.Join(w2.root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	w2.write(map[string]string{"Dockerfile": "FROM scratch\n"})
	_, stderr = w2.mustRun(0, "scan", "-v", "$ROOT")
	if !strings.Contains(stderr, "config: none found") {
		t.Errorf("scan -v without a config:\n%s", stderr)
	}
}

// Hitting --timeout keeps what was resolved: the rest are errors that say
// they timed out, and the run exits 2 with the report printed.
func TestTimeoutKeepsWhatWasResolved(t *testing.T) {
	t.Parallel()
	fast := testregistry.New(t)
	slow := testregistry.New(t, testregistry.WithLatency(3*time.Second))
	w := newWorld(t, fast)
	w.push("index library/node:20")
	slow.PushIndex(t, "acme/slow", "1")
	w.write(map[string]string{
		".digestbot.yaml": defaultConfig + "  slow.example:\n    host: " + slow.Host() + "\n    tls: disabled\n",
		"Dockerfile":      "FROM node:20\nFROM slow.example/acme/slow:1\n",
	})
	stdout, stderr, code := w.run("check", "--timeout", "1s", "--lookup-timeout", "10s", "$ROOT")
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Dockerfile:1:6  unpinned  node:20") || !strings.Contains(stdout, "2 refs in 1 file: 1 unpinned, 1 error") {
		t.Errorf("the report was not kept:\n%s", stdout)
	}
	if !strings.Contains(stderr, "Dockerfile:2: slow.example/acme/slow:1: ") || !strings.Contains(stderr, "--timeout") {
		t.Errorf("stderr does not say the ref timed out:\n%s", stderr)
	}
}

// Several registries sent to one host (a pull-through cache): when the
// host fails, each ref's hint names its own registry's config key.
func TestSharedHostHintNamesOwnKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testregistry.New(t))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	w.write(map[string]string{
		".digestbot.yaml": "registries:\n  a.example: {host: " + dead + ", tls: disabled}\n  b.example: {host: " + dead + ", tls: disabled}\n  c.example: {host: " + dead + ", tls: disabled}\n",
		"Dockerfile":      "FROM a.example/x:1\nFROM b.example/y:1\nFROM c.example/z:1\n",
	})
	_, stderr := w.mustRun(2, "check", "--concurrency", "1", "$ROOT")
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		for _, reg := range []string{"a.example", "b.example", "c.example"} {
			if strings.Contains(line, " "+reg+"/") && !strings.Contains(line, "registries."+reg+".host") {
				t.Errorf("the line for %s names another key:\n%s", reg, line)
			}
		}
	}
	if strings.Count(stderr, "registries.") != 3 {
		t.Errorf("want one hint per registry:\n%s", stderr)
	}
}
