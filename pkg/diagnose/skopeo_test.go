package diagnose_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// skopeo runs `skopeo inspect ARGS docker://HOST/ref` against the test
// registry's front door and returns stdout. The test is skipped when
// skopeo is not installed.
func skopeo(t testing.TB, reg *testregistry.Registry, ref string, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed")
	}
	args = append(append([]string{"inspect", "--tls-verify=false"}, args...), "docker://"+reg.Host()+"/"+ref)
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("skopeo %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func sha(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// TestIndependentDigests computes every digest with skopeo — the index and
// its arm64 child from the raw index bytes, the arm64 image ID from the raw
// config bytes — and checks the diagnoses of pins built from them, the
// classic 20.04-pinned-to-16.04 among them. On CI this runs against the
// CNCF distribution registry.
func TestIndependentDigests(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		for _, tag := range []string{"14.04", "16.04", "18.04", "20.04", "22.04"} {
			reg.PushIndex(t, "library/ubuntu", tag)
		}
		e := newEnv(t, reg, nil)

		raw16 := skopeo(t, reg, "library/ubuntu:16.04", "--raw")
		raw20 := skopeo(t, reg, "library/ubuntu:20.04", "--raw")
		var idx struct {
			Manifests []struct {
				Digest   string `json:"digest"`
				Platform struct {
					OS, Architecture, Variant string
				} `json:"platform"`
			} `json:"manifests"`
		}
		if err := json.Unmarshal(raw20, &idx); err != nil {
			t.Fatal(err)
		}
		arm := ""
		for _, m := range idx.Manifests {
			if m.Platform.Architecture == "arm64" {
				arm = m.Digest
			}
		}
		if arm == "" {
			t.Fatalf("no arm64 child in %s", raw20)
		}
		armConfig := sha(skopeo(t, reg, "library/ubuntu:20.04", "--config", "--raw", "--override-os", "linux", "--override-arch", "arm64", "--override-variant", "v8"))

		got := e.diagnose("library/ubuntu", "20.04", sha(raw16))
		want(t, got, finding.Mismatch, "", e.name("library/ubuntu:20.04")+" is pinned to the digest of "+e.name("library/ubuntu:16.04"))

		got = e.diagnose("library/ubuntu", "20.04", arm)
		want(t, got, finding.Platform, "", "linux/arm64 image inside", "the fix is the index digest "+sha(raw20)[:19])

		got = e.diagnose("library/ubuntu", "20.04", armConfig)
		want(t, got, finding.ImageID, "", "linux/arm64 image", "the right digest is the index "+sha(raw20)[:19], arm[:19]+" for linux/arm64 alone")
	})
}
