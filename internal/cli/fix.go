package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/plan"
	"github.com/digestbot/digestbot/pkg/report"
)

// FixOptions are fix's flags and arguments.
type FixOptions struct {
	Env        *Env
	Paths      []string
	ConfigFile string
	DryRun     bool
	Resolve    ResolveOptions
}

func newFixCmd(env *Env, g *globalFlags, runF func(context.Context, *FixOptions) error) *cobra.Command {
	opts := &FixOptions{Env: env}
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
			opts.Paths, opts.ConfigFile = defaultPaths(args), g.config
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return fixRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print a unified diff instead of writing")
	addResolveFlags(cmd, &opts.Resolve)
	return cmd
}

func fixRun(ctx context.Context, opts *FixOptions) error {
	env := opts.Env
	prog := newProgress(env)
	po, err := planOptions(env, opts.Paths, opts.ConfigFile, opts.Resolve, prog)
	if err != nil {
		return err
	}
	out, err := plan.Run(ctx, po)
	prog.done()
	if err != nil {
		return runError(err)
	}
	problems := out.Problems
	// written holds the files fix changed on disk (all of them for a dry
	// run): the summary, the warnings and the Action outputs count only
	// these, never a write that failed.
	written := out.Files
	if opts.DryRun {
		for _, fc := range out.Files {
			if err := report.WriteDiff(env.Stdout, fc.File.Path, fc.File.Src, fc.New); err != nil {
				return err
			}
		}
	} else {
		errs, err := plan.Write(ctx, out.Files)
		if err != nil {
			return err
		}
		written = nil
		for i, fc := range out.Files {
			if errs[i] != nil {
				problems = append(problems, finding.Problem{File: fc.File.Path, Message: errs[i].Error()})
				continue
			}
			written = append(written, fc)
		}
	}
	summary := env.Stdout
	if opts.DryRun {
		// Keep stdout a clean patch.
		summary = env.Stderr
	}
	errs := reportErrors(env, out.Findings, problems)
	// Refs fix cannot edit: one line each, the bytes stay as they are.
	printProblems(env.Stderr, out.Unpinnable)
	warnImageChanges(env, written, opts.DryRun)
	line, kv := fixSummary(out.Findings, written, opts.DryRun, errs)
	fmt.Fprintln(summary, line)
	if err := writeGitHubOutput(env, kv); err != nil {
		fmt.Fprintf(env.Stderr, "digestbot: cannot write GITHUB_OUTPUT: %v\n", err)
	}
	if errs > 0 {
		return errReported
	}
	return nil
}

// warnImageChanges calls out loudly the fixes that change which image runs.
func warnImageChanges(env *Env, files []plan.FileChange, dryRun bool) {
	verb := "rewrote"
	if dryRun {
		verb = "would rewrite"
	}
	for _, fc := range files {
		for _, c := range fc.Changes {
			if c.Status.ChangesImage() {
				fmt.Fprintf(env.Stderr, "WARNING: %s:%d: %s %s (%s): %s — the image that runs will change; review before merging\n",
					safeLine(c.File), c.Line, verb, safeLine(c.Old), c.Status, safeMsg(c.Message))
			}
		}
	}
}

// fixSummary returns the summary line and the same counts as Action outputs.
func fixSummary(findings []finding.Finding, written []plan.FileChange, dryRun bool, errs int) (string, map[string]string) {
	var pinned, refreshed, skipped int
	for _, fc := range written {
		for _, c := range fc.Changes {
			if c.Status == finding.Unpinned {
				pinned++
			} else {
				refreshed++
			}
		}
	}
	for _, f := range findings {
		if f.Status == finding.Skipped {
			skipped++
		}
	}
	prefix := ""
	if dryRun {
		prefix = "dry run: "
	}
	files := "files"
	if len(written) == 1 {
		files = "file"
	}
	kv := map[string]string{
		"pinned": strconv.Itoa(pinned), "refreshed": strconv.Itoa(refreshed), "skipped": strconv.Itoa(skipped),
		"errors": strconv.Itoa(errs), "files": strconv.Itoa(len(written)),
	}
	return fmt.Sprintf("%spinned %d, refreshed %d, skipped %d, errors %d (%d %s changed)", prefix, pinned, refreshed, skipped, errs, len(written), files), kv
}
