package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/internal/fakegithub"
	"github.com/digestbot/digestbot/pkg/internal/testregistry"
	"github.com/digestbot/digestbot/pkg/internal/testsign"
)

// TestCommentUsesBaseVerify: comment judges a pull request's images by the
// base branch's signature policy. A head that swaps the rule's key file for
// the attacker's own key (which signed the image) still gets `unsigned`:
// the rule and the key come from the base branch, read through the API.
func TestCommentUsesBaseVerify(t *testing.T) {
	reg := testregistry.New(t)
	w := newWorld(t, reg)
	w.push("index acme/app:1")
	keyDir := t.TempDir()
	mallory := testsign.NewKey(t, keyDir, "cosign.pub")
	testsign.NewPusher(reg).PushSigs(t, "acme/app", w.digests["<acme/app:1>"], testsign.KeySig(t, mallory, "ghcr.io/acme/app", w.digests["<acme/app:1>"]))
	malloryPub := readFile(t, filepath.Join(keyDir, "cosign.pub"))
	// The trusted public key is another one, held by the base branch.
	baseKeyDir := t.TempDir()
	testsign.NewKey(t, baseKeyDir, "cosign.pub")
	basePub := readFile(t, filepath.Join(baseKeyDir, "cosign.pub"))
	if basePub == malloryPub {
		t.Fatal("two generated keys are equal")
	}

	cfg := strings.ReplaceAll(defaultConfig, "HOST", reg.Host()) + "verify:\n  - images: [\"ghcr.io/acme/**\"]\n    keys: [cosign.pub]\n"
	fake := fakegithub.New(t, "acme", "shop")
	fake.Seed("main", map[string]string{".digestbot.yaml": cfg, "cosign.pub": basePub, "README.md": "x\n"})
	fake.Branch("feature", "main")
	headSHA := fake.Commit("feature", "add an image and my key",
		fakegithub.File{Path: "cosign.pub", Content: malloryPub},
		fakegithub.File{Path: "Dockerfile", Content: "FROM ghcr.io/acme/app:1\n"})
	n := fake.OpenPR("feature", "main", "Add an image", "", "mallory")

	// The checkout is the head: the attacker's key under the rule's name.
	w.write(map[string]string{".digestbot.yaml": cfg, "Dockerfile": "FROM ghcr.io/acme/app:1\n"})
	if err := os.WriteFile(filepath.Join(w.root, "cosign.pub"), []byte(malloryPub), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(w.root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Without the base's policy, the head's own rule verifies the image.
	fs := w.checkJSON(1)
	if f := fs["ghcr.io/acme/app:1"]; f.Status != "unpinned" || f.Signature == nil || !f.Signature.Verified {
		t.Fatalf("check with the head's key: %+v %+v", f, f.Signature)
	}

	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(fmt.Sprintf(`{"number":%d,"pull_request":{"number":%d,"head":{"sha":%q}}}`, n, n, headSHA)), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := w.runEnv(map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_TOKEN": "ghs_workflowTokenSecret", "GITHUB_REPOSITORY": "acme/shop",
		"GITHUB_API_URL": fake.URL + "api/v3", "GITHUB_EVENT_PATH": event, "GITHUB_WORKSPACE": w.root,
	}, "comment", "$ROOT")
	if code != 1 || !strings.Contains(stdout, "unsigned") || !strings.Contains(stdout, "ghcr.io/acme/app:1") {
		t.Errorf("comment with the base branch's key: exit %d, want 1 and unsigned\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
