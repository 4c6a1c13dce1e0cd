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

// CheckOptions are check's flags and arguments.
type CheckOptions struct {
	Env        *Env
	Quiet      bool
	Paths      []string
	ConfigFile string
	Format     string
	Resolve    ResolveOptions
}

func newCheckCmd(env *Env, g *globalFlags, runF func(context.Context, *CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{Env: env}
	cmd := &cobra.Command{
		Use:   "check [PATH...]",
		Short: "Resolve every reference and report which need action",
		Long: `check resolves every tag to its current digest and reports each reference:
ok, unpinned, stale, mismatch, platform, image-id, missing, digest-only,
skipped or error. It writes nothing.

Exit codes: 0 all ok, 1 something needs action, 2 an error.`,
		Example: `  digestbot check
  digestbot check ./deploy --format json
  digestbot check --format sarif > digestbot.sarif`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths, opts.ConfigFile, opts.Quiet = defaultPaths(args), g.config, g.quiet
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return checkRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text, json or sarif")
	addResolveFlags(cmd, &opts.Resolve)
	return cmd
}

func checkRun(ctx context.Context, opts *CheckOptions) error {
	env := opts.Env
	if err := checkFormat(opts.Format, "text", "json", "sarif"); err != nil {
		return err
	}
	prog := newProgress(env)
	po, err := planOptions(env, opts.Paths, opts.ConfigFile, opts.Resolve, prog)
	if err != nil {
		return err
	}
	po.Platforms = true
	out, err := plan.Run(ctx, po)
	prog.done()
	if err != nil {
		return runError(err)
	}
	switch opts.Format {
	case "json":
		err = report.WriteJSON(env.Stdout, out.Findings, out.Problems)
	case "sarif":
		err = writeSARIF(env, out)
	default:
		// Errors are said once, on stderr, grouped by host (verdict).
		err = report.WriteTextOpts(env.Stdout, out.Findings, textOptions(env, opts.Quiet))
	}
	if err != nil {
		return err
	}
	if err := writeGitHubOutput(env, statusCounts(out.Findings, len(out.Problems))); err != nil {
		fmt.Fprintf(env.Stderr, "digestbot: cannot write GITHUB_OUTPUT: %v\n", err)
	}
	return needsAttention(env, out.Attention, verdict(env, out.Findings, out.Problems))
}

// writeSARIF prints the SARIF log. Columns in SARIF count UTF-16 units,
// so the lines are read from the bytes the run scanned (not the disk again).
func writeSARIF(env *Env, out *plan.Outcome) error {
	lineText := func(file string, line int) string {
		text, _ := out.LineText(file, line)
		return text
	}
	return report.WriteSARIF(env.Stdout, out.Findings, version(), lineText)
}

// needsAttention prints what needs action without being a finding's status
// (one line each on stderr) and turns a clean verdict into exit 1.
func needsAttention(env *Env, attention []finding.Problem, err error) error {
	printProblems(env.Stderr, attention)
	if err == nil && len(attention) > 0 {
		return errFindings
	}
	return err
}

// verdict prints problems and ref errors on stderr and picks the exit code
// shared by check and comment: 2 on errors, 1 when something needs action.
func verdict(env *Env, findings []finding.Finding, problems []finding.Problem) error {
	if reportErrors(env, findings, problems) > 0 {
		return errReported
	}
	for _, f := range findings {
		if f.Actionable() {
			return errFindings
		}
	}
	return nil
}

// reportErrors prints, one line each on stderr, the problems and then the
// refs that could not be resolved, and returns how many there were.
func reportErrors(env *Env, findings []finding.Finding, problems []finding.Problem) int {
	printProblems(env.Stderr, problems)
	return len(problems) + printRefErrors(env, findings)
}

// statusCounts are check's Action outputs: one count per status, plus
// needs-action and errors (ref errors and unreadable files).
func statusCounts(findings []finding.Finding, problems int) map[string]string {
	counts := map[finding.Status]int{}
	action := 0
	for _, f := range findings {
		counts[f.Status]++
		if f.Actionable() {
			action++
		}
	}
	kv := map[string]string{
		"findings":     strconv.Itoa(len(findings)),
		"needs-action": strconv.Itoa(action),
		"errors":       strconv.Itoa(counts[finding.Error] + problems),
	}
	for _, st := range finding.Statuses() {
		if st != finding.Error {
			kv[string(st)] = strconv.Itoa(counts[st])
		}
	}
	return kv
}
