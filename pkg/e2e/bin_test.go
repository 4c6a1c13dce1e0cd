package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildDigestbot builds the CLI into a temporary folder and returns its path.
func buildDigestbot(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "digestbot")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/digestbot/digestbot/cmd/digestbot")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// binEnv is the environment the binary runs in: no Docker credentials of
// the machine's, nothing from GitHub Actions.
func binEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "DOCKER_CONFIG=" + t.TempDir()}
	return append(env, extra...)
}
