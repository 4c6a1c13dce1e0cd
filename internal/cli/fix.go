package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/internal/atomicfile"
	"github.com/digestbot/digestbot/pkg/pin"
	"github.com/digestbot/digestbot/pkg/report"
)

func newFixCmd(env *Env, g *globalFlags) *cobra.Command {
	var dryRun bool
	var rf *resolveFlags
	cmd := &cobra.Command{
		Use:   "fix [PATH...]",
		Short: "Pin every reference to its tag's current digest, in place",
		Long: `fix rewrites every unpinned, stale, platform, image-id, mismatch and missing
reference to name:tag@<digest of the tag's current index>, changing no other
byte. Files are replaced atomically and keep their mode. References that
cannot be resolved are reported and left byte-identical; the rest are fixed.

With --dry-run, fix prints a git-style unified diff and writes nothing.`,
		Example: `  digestbot fix
  digestbot fix ./services
  digestbot fix --dry-run | git apply --check   # diff paths are relative to PATH`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			out, _, err := runPlan(ctx, env, g, defaultPaths(args), rf)
			if err != nil {
				return err
			}
			problems := out.Problems
			if dryRun {
				for _, fc := range out.Files {
					if err := report.WriteDiff(env.Stdout, fc.File.Path, fc.File.Src, fc.New); err != nil {
						return err
					}
				}
			} else {
				errs, err := writeFixes(ctx, out.Files)
				if err != nil {
					return err
				}
				for i, fc := range out.Files {
					if errs[i] != nil {
						problems = append(problems, report.Problem{File: fc.File.Path, Message: errs[i].Error()})
					}
				}
			}
			summary := env.Stdout
			if dryRun {
				// Keep stdout a clean patch.
				summary = env.Stderr
			}
			errs := reportErrors(env, out.Findings, problems)
			warnImageChanges(env, out.Files, dryRun)
			line, kv := fixSummary(out, dryRun, errs)
			fmt.Fprintln(summary, line)
			if err := writeGitHubOutput(env, kv); err != nil {
				fmt.Fprintf(env.Stderr, "digestbot: cannot write GITHUB_OUTPUT: %v\n", err)
			}
			if errs > 0 {
				return errReported
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print a unified diff instead of writing")
	rf = addResolveFlags(cmd)
	return cmd
}

// writeConcurrency bounds the files written at once. Each atomic write
// costs two fsyncs (the file, then its folder), which dominate fix on large
// trees when done one after another; concurrent fsyncs are batched by the
// filesystem (5,000 files: 35 s one at a time, a few seconds this way).
const writeConcurrency = 32

// writeFixes writes every file change, several at once, and returns one
// error (or nil) per file. When ctx ends, files being written are finished
// (each write is atomic), no new one is started, and ctx's error is
// returned: every file is then either its old or its new version.
func writeFixes(ctx context.Context, files []pin.FileChange) ([]error, error) {
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(writeConcurrency, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = writeFix(files[i])
			}
		}()
	}
feed:
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
			break feed
		case next <- i:
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return errs, nil
}

// errChanged means a file was edited while digestbot ran.
var errChanged = errors.New("changed while digestbot ran; not written, run fix again")

// writeFix replaces one file, unless it changed since it was scanned.
func writeFix(fc pin.FileChange) error {
	cur, err := os.ReadFile(fc.File.Abs)
	if err != nil {
		return fmt.Errorf("cannot read before writing: %w", err)
	}
	if string(cur) != string(fc.File.Src) {
		return errChanged
	}
	if err := atomicfile.WriteFile(fc.File.Root, fc.File.Abs, fc.New, fc.File.Mode); err != nil {
		return fmt.Errorf("cannot write: %w; the file is unchanged", err)
	}
	return nil
}

// warnImageChanges calls out loudly the fixes that change which image runs.
func warnImageChanges(env *Env, files []pin.FileChange, dryRun bool) {
	verb := "rewrote"
	if dryRun {
		verb = "would rewrite"
	}
	for _, fc := range files {
		for _, c := range fc.Changes {
			if c.Status.ChangesImage() {
				fmt.Fprintf(env.Stderr, "WARNING: %s:%d: %s %s (%s): %s — the image that runs will change; review before merging\n",
					c.File, c.Line, verb, c.Old, c.Status, c.Message)
			}
		}
	}
}

// fixSummary returns the summary line and the same counts as Action outputs.
func fixSummary(out *pin.Outcome, dryRun bool, errs int) (string, map[string]string) {
	var pinned, refreshed, skipped int
	for _, fc := range out.Files {
		for _, c := range fc.Changes {
			if c.Status == report.Unpinned {
				pinned++
			} else {
				refreshed++
			}
		}
	}
	for _, f := range out.Findings {
		if f.Status == report.Skipped {
			skipped++
		}
	}
	prefix := ""
	if dryRun {
		prefix = "dry run: "
	}
	files := "files"
	if len(out.Files) == 1 {
		files = "file"
	}
	kv := map[string]string{
		"pinned": strconv.Itoa(pinned), "refreshed": strconv.Itoa(refreshed), "skipped": strconv.Itoa(skipped),
		"errors": strconv.Itoa(errs), "files": strconv.Itoa(len(out.Files)),
	}
	return fmt.Sprintf("%spinned %d, refreshed %d, skipped %d, errors %d (%d %s changed)", prefix, pinned, refreshed, skipped, errs, len(out.Files), files), kv
}
