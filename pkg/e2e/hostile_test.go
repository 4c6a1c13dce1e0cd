//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
	"github.com/digestbot/digestbot/pkg/scan"
)

// hostileRSSLimit bounds the peak RSS of one run on hostile input.
const hostileRSSLimit = 150 << 20

// billionLaughs is a YAML alias bomb: nine levels of nine aliases, 9^9
// scalars once expanded.
func billionLaughs(indent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%sa: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n", indent)
	prev := "a"
	for _, c := range "bcdefghi" {
		fmt.Fprintf(&b, "%s%c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", indent, c, c, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = string(c)
	}
	return b.String()
}

// TestHostileInput runs the real binary on trees built to hurt: each case
// must end before its deadline, stay under hostileRSSLimit, report the
// hostile file on one clear stderr line (or skip it silently when it is
// not a regular file), leave it byte-identical, never write outside the
// root, and still pin the healthy file next to it.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	bin := buildDigestbot(t)
	reg := testregistry.New(t)
	seed := newWorld(t, reg)
	seed.push("index library/node:20")
	nodeDigest := seed.tags["library/node:20"]
	config := seed.expand(defaultConfig)

	type tree struct {
		root, outside string
	}
	write := func(t *testing.T, p string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(t *testing.T, target, link string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	mkfifo := func(t *testing.T, p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	outsideDockerfile := []byte("FROM node:20\n")

	cases := []struct {
		name  string
		setup func(t *testing.T, tr tree)
		// args after "fix"; nil means the root.
		args func(tr tree) []string
		// wantErr holds, per expected stderr line, substrings it must
		// contain; none means exit 0 and an empty stderr.
		wantErr [][]string
		// hostile files (relative to the root) that must stay byte-identical.
		untouched []string
		// pinned maps hostile files that can be fixed to their content
		// afterwards, with NODE for node:20's digest.
		pinned map[string]string
	}{
		{
			name: "huge-file",
			setup: func(t *testing.T, tr tree) {
				big := append([]byte("FROM node:20\n"), bytes.Repeat([]byte("RUN true\n"), scan.MaxFileSize/9+1000)...)
				write(t, filepath.Join(tr.root, "huge/Dockerfile"), big)
			},
			wantErr:   [][]string{{"huge/Dockerfile: ", "larger than 16 MiB"}},
			untouched: []string{"huge/Dockerfile"},
		},
		{
			name: "10MB-line",
			setup: func(t *testing.T, tr tree) {
				line := "FROM node:20\nRUN echo " + strings.Repeat("a", 10<<20) + "\n"
				write(t, filepath.Join(tr.root, "long/Dockerfile"), []byte(line))
			},
			wantErr:   [][]string{{"long/Dockerfile", "line"}},
			untouched: []string{"long/Dockerfile"},
		},
		{
			name: "10MB-line-yaml",
			setup: func(t *testing.T, tr tree) {
				doc := "services:\n  app:\n    image: node:20\n    command: \"" + strings.Repeat("a", 10<<20) + "\"\n"
				write(t, filepath.Join(tr.root, "long/compose.yaml"), []byte(doc))
			},
			pinned: map[string]string{"long/compose.yaml": "services:\n  app:\n    image: node:20@NODE\n    command: \"" + strings.Repeat("a", 10<<20) + "\"\n"},
		},
		{
			name: "deep-nesting-flow-sequence",
			setup: func(t *testing.T, tr tree) {
				doc := "services:\n  app:\n    image: node:20\nx-deep: " + strings.Repeat("[", 100000) + "\n"
				write(t, filepath.Join(tr.root, "deep/compose.yaml"), []byte(doc))
			},
			wantErr:   [][]string{{"deep/compose.yaml", "cannot parse"}},
			untouched: []string{"deep/compose.yaml"},
		},
		{
			name: "deep-nesting-flow-mapping",
			setup: func(t *testing.T, tr tree) {
				doc := "apiVersion: v1\nkind: Pod\nspec: " + strings.Repeat("{a: ", 100000) + "\n"
				write(t, filepath.Join(tr.root, "deep/pod.yaml"), []byte(doc))
			},
			wantErr:   [][]string{{"deep/pod.yaml", "cannot parse"}},
			untouched: []string{"deep/pod.yaml"},
		},
		{
			name: "deep-nesting-block",
			setup: func(t *testing.T, tr tree) {
				// 2,000 levels of indentation (2 MB), then 50,000 levels of
				// compact nested sequences on one line ("- - - … x").
				var b strings.Builder
				b.WriteString("apiVersion: v1\nkind: Pod\nspec:\n")
				for i := 0; i < 2000; i++ {
					b.WriteString(strings.Repeat(" ", i+2) + "k:\n")
				}
				write(t, filepath.Join(tr.root, "deep/block.yaml"), []byte(b.String()))
				compact := "apiVersion: v1\nkind: Pod\nspec:\n  " + strings.Repeat("- ", 50000) + "x\n"
				write(t, filepath.Join(tr.root, "deep/compact.yaml"), []byte(compact))
			},
			wantErr:   [][]string{{"deep/block.yaml", "cannot parse", "nested deeper"}, {"deep/compact.yaml", "cannot parse", "depth"}},
			untouched: []string{"deep/block.yaml", "deep/compact.yaml"},
		},
		{
			name: "alias-bomb-compose",
			setup: func(t *testing.T, tr tree) {
				doc := "x-lol:\n" + billionLaughs("  ") + "services:\n  app:\n    image: node:20\n    labels: *i\n"
				write(t, filepath.Join(tr.root, "bomb/compose.yaml"), []byte(doc))
			},
			pinned: map[string]string{"bomb/compose.yaml": "x-lol:\n" + billionLaughs("  ") + "services:\n  app:\n    image: node:20@NODE\n    labels: *i\n"},
		},
		{
			name: "alias-bomb-kubernetes",
			setup: func(t *testing.T, tr tree) {
				doc := "apiVersion: v1\nkind: List\nx-lol:\n" + billionLaughs("  ") + "items: *i\n"
				write(t, filepath.Join(tr.root, "bomb/list.yaml"), []byte(doc))
				// An image reached through the bomb's aliases, too.
				pod := "apiVersion: v1\nkind: Pod\nx-lol:\n" + billionLaughs("  ") +
					"spec:\n  volumes: *i\n  containers: &c\n    - {name: a, image: node:20, args: *i}\n  initContainers: *c\n"
				write(t, filepath.Join(tr.root, "bomb/pod.yaml"), []byte(pod))
			},
			untouched: []string{"bomb/list.yaml"},
			pinned: map[string]string{"bomb/pod.yaml": "apiVersion: v1\nkind: Pod\nx-lol:\n" + billionLaughs("  ") +
				"spec:\n  volumes: *i\n  containers: &c\n    - {name: a, image: node:20@NODE, args: *i}\n  initContainers: *c\n"},
		},
		{
			name: "binary-named-Dockerfile",
			setup: func(t *testing.T, tr tree) {
				bin := []byte("\x7fELF\x02\x01\x01\x00\x00\x00FROM node:20\n\x00\x00\xff\xfe")
				write(t, filepath.Join(tr.root, "bin/Dockerfile"), bytes.Repeat(bin, 1000))
			},
			wantErr:   [][]string{{"bin/Dockerfile: ", "not a text file"}},
			untouched: []string{"bin/Dockerfile"},
		},
		{
			name: "invalid-utf8-dockerfile",
			setup: func(t *testing.T, tr tree) {
				write(t, filepath.Join(tr.root, "utf8/Dockerfile"), []byte("# caf\xe9 \xff\xfe\nFROM node:20 AS \xc3\x28\nRUN echo \xed\xa0\x80\n"))
			},
			// Pinned, every invalid byte kept as it was.
			pinned: map[string]string{"utf8/Dockerfile": "# caf\xe9 \xff\xfe\nFROM node:20@NODE AS \xc3\x28\nRUN echo \xed\xa0\x80\n"},
		},
		{
			name: "invalid-utf8-yaml",
			setup: func(t *testing.T, tr tree) {
				write(t, filepath.Join(tr.root, "utf8/compose.yaml"), []byte("services:\n  app:\n    image: node:20 # caf\xe9\n"))
			},
			wantErr:   [][]string{{"utf8/compose.yaml", "cannot parse"}},
			untouched: []string{"utf8/compose.yaml"},
		},
		{
			name: "symlink-loops",
			setup: func(t *testing.T, tr tree) {
				symlink(t, "b", filepath.Join(tr.root, "loop/a"))
				symlink(t, "a", filepath.Join(tr.root, "loop/b"))
				symlink(t, "Dockerfile", filepath.Join(tr.root, "loop/Dockerfile"))
				symlink(t, "..", filepath.Join(tr.root, "loop/up"))
				symlink(t, ".", filepath.Join(tr.root, "loop/self/compose.yaml"))
			},
		},
		{
			name: "symlinks-out-of-the-root",
			setup: func(t *testing.T, tr tree) {
				write(t, filepath.Join(tr.outside, "Dockerfile"), outsideDockerfile)
				write(t, filepath.Join(tr.outside, "compose.yaml"), []byte("services:\n  a:\n    image: node:20\n"))
				symlink(t, filepath.Join(tr.outside, "Dockerfile"), filepath.Join(tr.root, "link/Dockerfile"))
				symlink(t, "../../outside/compose.yaml", filepath.Join(tr.root, "link/compose.yaml"))
				symlink(t, tr.outside, filepath.Join(tr.root, "ext"))
			},
		},
		{
			name: "symlink-out-of-the-root-named-as-PATH",
			setup: func(t *testing.T, tr tree) {
				write(t, filepath.Join(tr.outside, "Dockerfile"), outsideDockerfile)
				symlink(t, filepath.Join(tr.outside, "Dockerfile"), filepath.Join(tr.root, "link/Dockerfile"))
			},
			args:    func(tr tree) []string { return []string{filepath.Join(tr.root, "link/Dockerfile"), tr.root} },
			wantErr: [][]string{{"link/Dockerfile: cannot write", "not a regular file", "unchanged"}},
		},
		{
			name: "fifo-named-Dockerfile",
			setup: func(t *testing.T, tr tree) {
				mkfifo(t, filepath.Join(tr.root, "fifo/Dockerfile"))
				mkfifo(t, filepath.Join(tr.root, "fifo/compose.yaml"))
			},
		},
		{
			name: "fifo-named-as-PATH",
			setup: func(t *testing.T, tr tree) {
				mkfifo(t, filepath.Join(tr.root, "fifo/Dockerfile"))
			},
			args:    func(tr tree) []string { return []string{filepath.Join(tr.root, "fifo/Dockerfile"), tr.root} },
			wantErr: [][]string{{"fifo/Dockerfile", "not a regular file"}},
		},
		{
			name: "unreadable-file",
			setup: func(t *testing.T, tr tree) {
				if os.Geteuid() == 0 {
					t.Skip("root reads every file")
				}
				p := filepath.Join(tr.root, "secret/Dockerfile")
				write(t, p, []byte("FROM node:20\n"))
				if err := os.Chmod(p, 0); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: [][]string{{"secret/Dockerfile: ", "permission denied"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			tr := tree{root: filepath.Join(base, "repo"), outside: filepath.Join(base, "outside")}
			write(t, filepath.Join(tr.root, ".digestbot.yaml"), []byte(config))
			write(t, filepath.Join(tr.root, "ok/Dockerfile"), []byte("FROM node:20\n"))
			if err := os.MkdirAll(tr.outside, 0o755); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, tr)
			before := snapshot(t, base)

			args := []string{tr.root}
			if tc.args != nil {
				args = tc.args(tr)
			}
			start := time.Now()
			run := runMeasured(t, 60*time.Second, binEnv(t), bin, append([]string{"fix", "--config", filepath.Join(tr.root, ".digestbot.yaml")}, args...)...)
			elapsed := time.Since(start)
			if run.killed {
				t.Fatalf("fix hung: killed after %s", elapsed)
			}
			code, rss, stdout, stderr := run.code, run.rss, &run.stdout, &run.stderr
			t.Logf("%s: exit %d in %s, peak RSS %d MiB\nstderr: %s", tc.name, code, elapsed.Round(time.Millisecond), rss>>20, truncateOutput(stderr.String()))
			if rss > hostileRSSLimit {
				t.Errorf("peak RSS %d MiB, want at most %d MiB", rss>>20, hostileRSSLimit>>20)
			}

			wantCode := 0
			if len(tc.wantErr) > 0 {
				wantCode = 2
			}
			if code != wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, wantCode, stdout.String(), truncateOutput(stderr.String()))
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if stderr.Len() == 0 {
				lines = nil
			}
			if len(lines) != len(tc.wantErr) {
				t.Errorf("%d stderr lines, want %d:\n%s", len(lines), len(tc.wantErr), truncateOutput(stderr.String()))
			}
			for i, want := range tc.wantErr {
				if i >= len(lines) {
					break
				}
				if len(lines[i]) > 500 {
					t.Errorf("stderr line %d is %d bytes long: %.200s…", i+1, len(lines[i]), lines[i])
				}
				for _, s := range want {
					if !strings.Contains(lines[i], s) {
						t.Errorf("stderr line %q does not say %q", truncateOutput(lines[i]), s)
					}
				}
			}

			// The healthy file is pinned; hostile files and everything
			// outside the root are byte-identical.
			after := snapshot(t, base)
			if got, want := after["repo/ok/Dockerfile"], "FROM node:20@"+nodeDigest+"\n"; got != want && tc.args == nil {
				t.Errorf("ok/Dockerfile = %q, want %q", got, want)
			}
			for _, rel := range tc.untouched {
				if after["repo/"+rel] != before["repo/"+rel] {
					t.Errorf("%s changed", rel)
				}
			}
			for rel, want := range tc.pinned {
				if want = strings.ReplaceAll(want, "NODE", nodeDigest); after["repo/"+rel] != want {
					t.Errorf("%s = %q, want %q", rel, truncateOutput(after["repo/"+rel]), truncateOutput(want))
				}
			}
			for rel, data := range before {
				if strings.HasPrefix(rel, "outside/") && after[rel] != data {
					t.Errorf("%s, outside the root, changed to %q", rel, truncateOutput(after[rel]))
				}
			}
			for rel := range after {
				if _, ok := before[rel]; !ok {
					t.Errorf("%s appeared", rel)
				}
			}
		})
	}
}

// snapshot reads every regular file under dir (not following symlinks),
// and records symlinks by target and other files by type.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
		case d.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "symlink → " + target
		case !d.Type().IsRegular():
			out[rel] = "special " + d.Type().String()
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				// Unreadable on purpose: compare its metadata instead.
				info, _ := d.Info()
				out[rel] = fmt.Sprintf("unreadable %v %d", info.Mode(), info.Size())
				return nil
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func truncateOutput(s string) string {
	if len(s) > 2000 {
		return s[:2000] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

// measured is the outcome of runMeasured.
type measured struct {
	code           int
	rss            int64 // peak RSS of the command, bytes
	killed         bool  // it outlived its deadline
	stdout, stderr bytes.Buffer
}

// launchEnv holds the command TestRSSLauncher runs, as JSON.
const launchEnv = "DIGESTBOT_TEST_LAUNCH"

// runMeasured runs bin with args and env and measures its peak RSS. It is
// started through a helper process (this test binary, re-executed to run
// TestRSSLauncher): on Linux a child's ru_maxrss includes the RSS of the
// process that started it (exec records the old address space's high-water
// mark, and Go starts children with CLONE_VM), so measured directly from
// this big test process every child would look as large as the test. The
// helper is small and fresh. The command is killed after timeout.
func runMeasured(t *testing.T, timeout time.Duration, env []string, bin string, args ...string) *measured {
	t.Helper()
	spec, _ := json.Marshal(append([]string{bin}, args...))
	rssFile := filepath.Join(t.TempDir(), "rss")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRSSLauncher$")
	cmd.Env = append(env, launchEnv+"="+string(spec), launchEnv+"_RSS="+rssFile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	m := &measured{}
	cmd.Stdout, cmd.Stderr = &m.stdout, &m.stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		m.killed = true
		return m
	case errors.As(err, &ee):
		m.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	b, err := os.ReadFile(rssFile)
	if err != nil {
		t.Fatalf("launcher wrote no RSS (exit %d): %v\n%s", m.code, err, m.stderr.String())
	}
	kib, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	m.rss = kib << 10
	return m
}

// TestRSSLauncher is runMeasured's helper process; run directly, it skips.
func TestRSSLauncher(t *testing.T) {
	spec := os.Getenv(launchEnv)
	if spec == "" {
		t.Skip("helper process for runMeasured")
	}
	var argv []string
	if err := json.Unmarshal([]byte(spec), &argv); err != nil || len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "bad", launchEnv, err)
		os.Exit(125)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, launchEnv) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(125)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	if err := os.WriteFile(os.Getenv(launchEnv+"_RSS"), []byte(strconv.FormatInt(rss, 10)), 0o644); err != nil {
		os.Exit(125)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
