//go:build unix

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// TestSignalDuringFix interrupts `digestbot fix` on a large tree with SIGINT
// and with SIGTERM, once while it resolves and once while it writes.
// Afterwards every file is either its old or its new (fully pinned)
// version, no temporary file is left, and the exit code is 2: the
// contract's "error", not the shell's 128+signal, because the run did not
// finish its work. A second fix finishes the job.
func TestSignalDuringFix(t *testing.T) {
	t.Parallel()
	bin := buildDigestbot(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, phase := range []string{"resolving", "writing"} {
			t.Run(fmt.Sprintf("%s-while-%s", sig, phase), func(t *testing.T) {
				t.Parallel()
				var opts []testregistry.Opt
				if phase == "resolving" {
					// 12 tags one at a time, 250 ms each: 3 s of resolving.
					opts = append(opts, testregistry.WithLatency(250*time.Millisecond))
				}
				w := newWorld(t, testregistry.New(t, opts...))
				const tags = 12
				for i := range tags {
					w.push(fmt.Sprintf("image acme/app:%d", i))
				}
				const files = 3000
				old := map[string]string{".digestbot.yaml": w.expand(defaultConfig)}
				pinned := map[string]string{}
				for i := range files {
					a, b := fmt.Sprintf("acme/app:%d", i%tags), fmt.Sprintf("acme/app:%d", (i+1)%tags)
					rel := fmt.Sprintf("svc%04d/Dockerfile", i)
					old[rel] = fmt.Sprintf("# service %d\nFROM %s AS build\nRUN make\nFROM %s\nCOPY --from=build /app /app\n", i, a, b)
					pinned[rel] = fmt.Sprintf("# service %d\nFROM %s@%s AS build\nRUN make\nFROM %s@%s\nCOPY --from=build /app /app\n", i, a, w.tags[a], b, w.tags[b])
				}
				for rel, data := range old {
					p := filepath.Join(w.root, filepath.FromSlash(rel))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
						t.Fatal(err)
					}
				}

				cmd := exec.Command(bin, "fix", "--concurrency", "1", w.root)
				cmd.Env = binEnv(t)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()

				// Files are written in path order: the first one changing
				// means writing is under way.
				first := filepath.Join(w.root, "svc0000", "Dockerfile")
				deadline := time.After(30 * time.Second)
				wait := time.NewTimer(time.Second) // resolving: scanned, a few tags in
				if phase == "writing" {
					wait.Stop()
				}
				tick := time.NewTicker(time.Millisecond)
			poll:
				for {
					select {
					case <-wait.C:
						break poll
					case <-tick.C:
						if phase == "writing" {
							if b, err := os.ReadFile(first); err == nil && string(b) != old["svc0000/Dockerfile"] {
								break poll
							}
						}
					case err := <-done:
						t.Fatalf("fix ended before the signal: %v\n%s%s", err, stdout.String(), stderr.String())
					case <-deadline:
						_ = cmd.Process.Kill()
						t.Fatal("fix never started writing")
					}
				}
				tick.Stop()
				sent := time.Now()
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				var err error
				select {
				case err = <-done:
				case <-time.After(15 * time.Second):
					_ = cmd.Process.Kill()
					t.Fatalf("fix did not stop within 15s of %s", sig)
				}
				t.Logf("%s stopped fix in %s", sig, time.Since(sent).Round(time.Millisecond))
				if err == nil && phase == "writing" {
					// A disk without fsync cost (tmpfs) can write every file
					// before the signal lands: nothing left to interrupt.
					for rel, data := range readTree(t, w.root) {
						if want, ok := pinned[rel]; ok && data != want {
							t.Errorf("%s = %q after a complete fix", rel, data)
						}
					}
					t.Skip("fix wrote every file before the signal landed")
				}
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 2 {
					t.Errorf("exit: %v, want exit status 2\nstderr:\n%s", err, stderr.String())
				}
				if !strings.Contains(stderr.String(), "interrupted") {
					t.Errorf("stderr does not say it was interrupted:\n%s", stderr.String())
				}

				after := readTree(t, w.root)
				nOld, nNew := 0, 0
				for rel, data := range after {
					switch {
					case data == old[rel]:
						nOld++
					case data == pinned[rel]:
						nNew++
					default:
						t.Errorf("%s is neither its old nor its new version:\n%q", rel, data)
					}
				}
				if len(after) != len(old) {
					t.Errorf("%d files after, %d before", len(after), len(old))
				}
				assertNoTemp(t, w.root)
				t.Logf("%d files untouched, %d pinned", nOld-1, nNew)
				switch {
				case phase == "resolving" && nNew != 0:
					t.Errorf("%d files written though the signal came while resolving", nNew)
				case phase == "writing" && (nNew == 0 || nOld <= 1):
					t.Errorf("signal did not land mid-write (%d pinned, %d untouched)", nNew, nOld-1)
				}

				// Running fix again finishes the job.
				again := exec.Command(bin, "fix", w.root)
				again.Env = binEnv(t)
				if out, err := again.CombinedOutput(); err != nil {
					t.Fatalf("second fix: %v\n%s", err, out)
				}
				for rel, data := range readTree(t, w.root) {
					if want, ok := pinned[rel]; ok && data != want {
						t.Errorf("after a second fix, %s = %q", rel, data)
					}
				}
			})
		}
	}
}

// TestSecondSignalEndsAtOnce: after the first SIGINT digestbot finishes
// the work in flight, which may take a while (here a bearer-token request
// to a server that never answers, bounded only by --lookup-timeout); a
// second signal ends the process at once.
func TestSecondSignalEndsAtOnce(t *testing.T) {
	t.Parallel()
	bin := buildDigestbot(t)
	tok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(tok.Close)
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+tok.URL+`/token",service="x"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(reg.Close)
	host := reg.Listener.Addr().String()
	root := t.TempDir()
	for name, data := range map[string]string{
		".digestbot.yaml": "registries:\n  " + host + ": {tls: disabled}\n",
		"Dockerfile":      "FROM " + host + "/app:1\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The hang is bounded by --lookup-timeout (120 s): ending within a
	// quarter of it shows the second signal did not wait for the request.
	// The margin is wide on purpose: a loaded CI machine took 5 s to
	// reap the process, and wall-clock asserts belong to benchmarks.
	cmd := exec.Command(bin, "check", "--lookup-timeout", "120s", root)
	cmd.Env = binEnv(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(time.Second) // scanned; the token request hangs
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		t.Logf("ended after the first signal: %v", err)
		return
	case <-time.After(300 * time.Millisecond):
	}
	sent := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if el := time.Since(sent); el > 30*time.Second {
			t.Errorf("ended %s after the second signal", el)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("exit: %v, want a failure", err)
		}
		if !strings.Contains(stderr.String(), "interrupted again") {
			t.Errorf("stderr: %s", stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("still running 60 s after the second signal")
	}
}
