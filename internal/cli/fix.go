package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/internal/safetext"
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
	// Format is text (a diff with --dry-run, else the files changed) or
	// json (the changes: file, line, old, new, why).
	Format string
	// ExitCode makes fix exit 1 when something needed a change (CI gates:
	// fix --dry-run --exit-code).
	ExitCode bool
	Resolve  ResolveOptions
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

With --dry-run, fix prints a git-style unified diff and writes nothing.
With --format json it prints the changes instead: file, line, old, new, why.
With --exit-code it exits 1 when something needed a change (written or, with
--dry-run, not): a CI gate that fails until the pins are in.

Exit codes: 0 done (or nothing to do), 1 with --exit-code a change was
needed, 2 an error.`,
		Example: `  digestbot fix
  digestbot fix ./services
  digestbot fix --dry-run | git apply --check   # paths are relative to the repository root
  digestbot fix --dry-run --exit-code           # CI: exit 1 while something is unpinned
  digestbot fix --dry-run --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths, opts.ConfigFile = defaultPaths(args), g.config
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return fixRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print a unified diff instead of writing")
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text or json (the changes)")
	cmd.Flags().BoolVar(&opts.ExitCode, "exit-code", false, "exit 1 when a change was needed")
	addResolveFlags(cmd, &opts.Resolve)
	return cmd
}

func fixRun(ctx context.Context, opts *FixOptions) error {
	env := opts.Env
	if err := checkFormat(opts.Format, "text", "json"); err != nil {
		return err
	}
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
	if opts.DryRun && opts.Format == "text" {
		for _, fc := range out.Files {
			if err := report.WriteDiff(env.Stdout, fc.File.Path, fc.File.Src, fc.New); err != nil {
				return err
			}
		}
	} else if !opts.DryRun {
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
	if opts.DryRun || opts.Format == "json" {
		// Keep stdout a clean patch, or clean JSON.
		summary = env.Stderr
	}
	if opts.Format == "json" {
		if err := writeChangesJSON(env.Stdout, out.Files); err != nil {
			return err
		}
	}
	// Name the files changed (or that would be), one line each.
	for _, fc := range written {
		verb := "changed"
		if opts.DryRun {
			verb = "would change"
		}
		n := len(fc.Changes)
		refs := "refs"
		if n == 1 {
			refs = "ref"
		}
		fmt.Fprintf(summary, "%s %s (%d %s)\n", verb, safeLine(fc.File.Path), n, refs)
	}
	errs := reportErrors(env, out.Findings, problems)
	// Refs fix cannot edit: one line each, the bytes stay as they are.
	printProblems(env.Stderr, out.Unpinnable)
	warnImageChanges(env, written, opts.DryRun)
	line, kv := fixSummary(out.Findings, written, opts.DryRun, errs, len(out.Unpinnable))
	fmt.Fprintln(summary, line)
	if err := writeGitHubOutput(env, kv); err != nil {
		fmt.Fprintf(env.Stderr, "digestbot: cannot write GITHUB_OUTPUT: %v\n", err)
	}
	if errs > 0 {
		return errReported
	}
	if opts.ExitCode && len(out.Files) > 0 {
		return errFindings
	}
	return nil
}

// writeChangesJSON prints {"changes": [...]}: per change the file, line,
// the reference as written (old), what fix writes (new), why (pin,
// refresh, platform, …) and the digests.
func writeChangesJSON(w io.Writer, files []plan.FileChange) error {
	type change struct {
		File      string  `json:"file"`
		Line      int     `json:"line"`
		Column    int     `json:"column"`
		Old       string  `json:"old"`
		New       string  `json:"new"`
		Why       string  `json:"why"`
		Status    string  `json:"status"`
		Image     string  `json:"image"`
		Tag       string  `json:"tag"`
		OldDigest *string `json:"old_digest"`
		NewDigest string  `json:"new_digest"`
		Message   string  `json:"message"`
	}
	out := struct {
		Changes []change `json:"changes"`
	}{Changes: []change{}}
	for _, fc := range files {
		for _, c := range fc.Changes {
			out.Changes = append(out.Changes, change{
				File: c.File, Line: c.Line, Column: c.Column,
				Old: safetext.Redact(c.Old), New: safetext.Redact(newRefText(c)),
				Why: c.Why(), Status: string(c.Status), Image: c.Image, Tag: c.Tag,
				OldDigest: finding.Str(c.OldDigest), NewDigest: c.NewDigest,
				Message: safetext.Clip(safetext.Redact(c.Message), safetext.MaxMessage),
			})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// newRefText is the reference as it reads after the change: the name and
// tag as written (the tag made explicit) and the new digest.
func newRefText(c finding.Change) string {
	base := c.Old
	if i := strings.LastIndexByte(base, '@'); i >= 0 && c.OldDigest != "" {
		base = base[:i]
	}
	if c.Tag != "" && !strings.HasSuffix(base, ":"+c.Tag) {
		base += ":" + c.Tag
	}
	return base + "@" + c.NewDigest
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
// notPinned counts the refs that need a pin fix does not write (the
// "cannot pin" lines): without it a run that changed nothing for that
// reason read "pinned 0, refreshed 0, skipped 0, errors 0".
func fixSummary(findings []finding.Finding, written []plan.FileChange, dryRun bool, errs, notPinned int) (string, map[string]string) {
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
	not := ""
	if notPinned > 0 {
		not = fmt.Sprintf(", not pinned %d", notPinned)
	}
	return fmt.Sprintf("%spinned %d, refreshed %d, skipped %d, errors %d%s (%d %s changed)", prefix, pinned, refreshed, skipped, errs, not, len(written), files), kv
}
