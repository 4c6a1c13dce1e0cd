package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
	"github.com/digestbot/digestbot/pkg/internal/testsign"
)

// sigFinding is the part of a JSON finding these tests read.
type sigFinding struct {
	Ref       string `json:"ref"`
	Status    string `json:"status"`
	Message   string `json:"message"`
	Signature *struct {
		Verified bool   `json:"verified"`
		Digest   string `json:"digest"`
		Signer   string `json:"signer"`
		Reason   string `json:"reason"`
	} `json:"signature"`
}

func (w *world) checkJSON(wantCode int) map[string]sigFinding {
	w.t.Helper()
	out, _ := w.mustRun(wantCode, "check", "--format", "json", "$ROOT")
	var doc struct {
		Findings []sigFinding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		w.t.Fatalf("check JSON: %v\n%s", err, out)
	}
	byRef := map[string]sigFinding{}
	for _, f := range doc.Findings {
		byRef[f.Ref] = f
	}
	return byRef
}

// TestSignatures: a verify rule with a cosign key covers ghcr.io/acme/**.
// A signed image is pinned and says who signed; when its tag moves to an
// unsigned digest, check says unsigned and exits 1 and fix refuses the
// refresh, saying so; an unsigned image and one signed with another key are
// never pinned; node:20, which no rule covers, behaves as before and costs
// no signature request.
func TestSignatures(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		w := newWorld(t, reg)
		w.push("index acme/app:1")
		w.push("index acme/tool:1")
		w.push("index acme/other:1")
		w.push("index library/node:20")
		key := testsign.NewKey(t, w.root, "cosign.pub")
		mallory := testsign.NewKey(t, t.TempDir(), "")
		p := testsign.NewPusher(reg)
		p.PushSigs(t, "acme/app", w.digests["<acme/app:1>"], testsign.KeySig(t, key, "ghcr.io/acme/app", w.digests["<acme/app:1>"]))
		p.PushSigs(t, "acme/other", w.digests["<acme/other:1>"], testsign.KeySig(t, mallory, "ghcr.io/acme/other", w.digests["<acme/other:1>"]))
		dockerfile := "FROM ghcr.io/acme/app:1\nFROM node:20\nFROM ghcr.io/acme/tool:1\nFROM ghcr.io/acme/other:1\n"
		w.write(map[string]string{
			".digestbot.yaml": defaultConfig + "verify:\n  - images: [\"ghcr.io/acme/**\"]\n    keys: [cosign.pub]\n",
			"Dockerfile":      dockerfile,
		})

		reg.ResetCounts()
		fs := w.checkJSON(1)
		app, node, tool, other := fs["ghcr.io/acme/app:1"], fs["node:20"], fs["ghcr.io/acme/tool:1"], fs["ghcr.io/acme/other:1"]
		if app.Status != "unpinned" || app.Signature == nil || !app.Signature.Verified || app.Signature.Signer != "key cosign.pub" ||
			app.Signature.Digest != "<acme/app:1>" || !strings.Contains(app.Message, "signed with key cosign.pub") {
			t.Errorf("signed image: %+v %+v", app, app.Signature)
		}
		if node.Status != "unpinned" || node.Signature != nil {
			t.Errorf("node:20 (no rule): %+v", node)
		}
		if tool.Status != "unsigned" || tool.Signature == nil || tool.Signature.Verified ||
			!strings.Contains(tool.Message, "no signature: neither the cosign tag") || !strings.Contains(tool.Message, "fix does not pin it") {
			t.Errorf("unsigned image: %+v %+v", tool, tool.Signature)
		}
		if other.Status != "unsigned" || !strings.Contains(other.Signature.Reason, "does not verify with key cosign.pub") {
			t.Errorf("image signed with another key: %+v %+v", other, other.Signature)
		}
		c := reg.Counts()
		for k := range c.ManifestGet {
			if strings.HasPrefix(k, "library/node:") {
				t.Errorf("a signature request for node:20, which no rule covers: GET %s", k)
			}
		}
		// app: .sig GET + payload blob (2); tool: .sig GET (404) +
		// referrers (≤ 2); other: .sig GET + payload blob, then referrers
		// (≤ 2) — the documented bounds.
		if c.Blobs != 2 || c.ManifestGet["acme/app:sha256-"+strings.TrimPrefix(w.digests["<acme/app:1>"], "sha256:")+".sig"] != 1 {
			t.Errorf("signature requests: %+v", c)
		}

		_, stderr := w.mustRun(0, "fix", "$ROOT")
		got := w.read("Dockerfile")
		want := "FROM ghcr.io/acme/app:1@<acme/app:1>\nFROM node:20@<node:20>\nFROM ghcr.io/acme/tool:1\nFROM ghcr.io/acme/other:1\n"
		if got != want {
			t.Errorf("after fix:\n%s\nwant:\n%s", got, want)
		}
		for _, line := range []string{"Dockerfile:3: not pinned, no signature satisfies the verify policy: ghcr.io/acme/tool:1 points to <acme/tool:1>(short)",
			"Dockerfile:4: not pinned, no signature satisfies the verify policy"} {
			if !strings.Contains(stderr, line) {
				t.Errorf("fix stderr lacks %q:\n%s", line, stderr)
			}
		}

		// The pinned, signed digest is ok and says who signed.
		fs = w.checkJSON(1)
		if app := fs["ghcr.io/acme/app:1@<acme/app:1>"]; app.Status != "ok" || !strings.Contains(app.Message, "signed with key cosign.pub") {
			t.Errorf("pinned signed image: %+v", app)
		}

		// The tag moves to a digest nobody signed: the old one stays.
		w.push("index acme/app:1 linux/amd64 linux/s390x as=app-moved")
		fs = w.checkJSON(1)
		app = fs["ghcr.io/acme/app:1@<acme/app:1>"]
		if app.Status != "unsigned" || app.Signature == nil || app.Signature.Digest != "<app-moved>" ||
			!strings.Contains(app.Message, "now points to <app-moved>(short) (stale)") || !strings.Contains(app.Message, "fix keeps the pin at <acme/app:1>(short)") {
			t.Errorf("moved to an unsigned digest: %+v %+v", app, app.Signature)
		}
		_, stderr = w.mustRun(0, "fix", "$ROOT")
		if got := w.read("Dockerfile"); got != want {
			t.Errorf("fix wrote an unverified digest:\n%s", got)
		}
		if !strings.Contains(stderr, "Dockerfile:1: not pinned, no signature satisfies the verify policy: ghcr.io/acme/app:1 now points to <app-moved>(short)") {
			t.Errorf("fix does not say why it kept the pin:\n%s", stderr)
		}

		// Signed now: the refresh goes through.
		p.PushSigs(t, "acme/app", w.digests["<app-moved>"], testsign.KeySig(t, key, "ghcr.io/acme/app", w.digests["<app-moved>"]))
		w.mustRun(0, "fix", "$ROOT")
		if got := w.read("Dockerfile"); !strings.HasPrefix(got, "FROM ghcr.io/acme/app:1@<app-moved>\n") {
			t.Errorf("signed refresh not written:\n%s", got)
		}
	})
}

// TestKeylessSignatures: a keyless rule for images built by GitHub Actions,
// checked offline against a trusted_root.json next to the config (a test CA
// standing in for Fulcio and a test log key for Rekor): the workflow's
// signature verifies and names the workflow; one by another workflow does
// not, and fix leaves it alone.
func TestKeylessSignatures(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		w := newWorld(t, reg)
		w.push("index acme/built:1")
		w.push("index acme/forked:1")
		vs := testsign.NewSigstore(t)
		testsign.WriteTrustedRoot(t, vs, w.root+"/sigstore-root.json")
		p := testsign.NewPusher(reg)
		built, forked := w.digests["<acme/built:1>"], w.digests["<acme/forked:1>"]
		p.PushSigs(t, "acme/built", built, testsign.KeylessSig(t, vs, testsign.GHIdentity, testsign.GHIssuer, "ghcr.io/acme/built", built))
		p.PushBundle(t, "acme/forked", forked, testsign.KeylessBundle(t, vs, "https://github.com/mallory/fork/.github/workflows/release.yml@refs/heads/main", testsign.GHIssuer, "ghcr.io/acme/forked", forked))
		w.write(map[string]string{
			".digestbot.yaml": defaultConfig + `verify:
  - images: ["ghcr.io/acme/**"]
    keyless:
      issuer: https://token.actions.githubusercontent.com
      identity: "https://github.com/acme/*/.github/workflows/*"
    trusted-root: sigstore-root.json
`,
			"Dockerfile": "FROM ghcr.io/acme/built:1\nFROM ghcr.io/acme/forked:1\n",
		})
		fs := w.checkJSON(1)
		b, f := fs["ghcr.io/acme/built:1"], fs["ghcr.io/acme/forked:1"]
		if b.Status != "unpinned" || b.Signature == nil || !b.Signature.Verified || b.Signature.Signer != testsign.GHIdentity ||
			!strings.Contains(b.Message, "signed by "+testsign.GHIdentity+" (issuer "+testsign.GHIssuer+")") {
			t.Errorf("workflow-signed image: %+v %+v", b, b.Signature)
		}
		if f.Status != "unsigned" || f.Signature == nil || f.Signature.Verified ||
			!strings.Contains(f.Signature.Reason, "signed by https://github.com/mallory/fork/.github/workflows/release.yml@refs/heads/main (issuer "+testsign.GHIssuer+"), not identity https://github.com/acme/*/.github/workflows/*") {
			t.Errorf("image signed by another workflow: %+v %+v", f, f.Signature)
		}
		w.mustRun(0, "fix", "$ROOT")
		if got, want := w.read("Dockerfile"), "FROM ghcr.io/acme/built:1@<acme/built:1>\nFROM ghcr.io/acme/forked:1\n"; got != want {
			t.Errorf("after fix:\n%s\nwant:\n%s", got, want)
		}
	})
}
