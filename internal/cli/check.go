package cli

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/pkg/report"
)

// sarifWriter is set by the SARIF code; until then --format sarif is refused.
var sarifWriter func(env *Env, root string, findings []report.Finding) error

func newCheckCmd(env *Env, g *globalFlags) *cobra.Command {
	var format string
	var rf *resolveFlags
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
			formats := []string{"text", "json"}
			if sarifWriter != nil {
				formats = append(formats, "sarif")
			}
			if err := checkFormat(format, formats...); err != nil {
				return err
			}
			out, _, err := runPlan(cmd.Context(), env, g, defaultPaths(args), rf)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				err = report.WriteJSON(env.Stdout, out.Findings, out.Problems)
			case "sarif":
				err = sarifWriter(env, sarifRoot(defaultPaths(args)), out.Findings)
			default:
				err = report.WriteText(env.Stdout, out.Findings)
			}
			if err != nil {
				return err
			}
			if err := writeGitHubOutput(env, statusCounts(out.Findings, len(out.Problems))); err != nil {
				fmt.Fprintf(env.Stderr, "digestbot: cannot write GITHUB_OUTPUT: %v\n", err)
			}
			return needsAttention(env, out.Attention, verdict(env, out.Findings, out.Problems))
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or sarif")
	rf = addResolveFlags(cmd)
	rf.platforms = true
	return cmd
}

// verdict prints problems and ref errors on stderr and picks the exit code
// shared by check and comment: 2 on errors, 1 when something needs action.
func verdict(env *Env, findings []report.Finding, problems []report.Problem) error {
	if reportErrors(env, findings, problems) > 0 {
		return errReported
	}
	for _, f := range findings {
		if f.Status.NeedsAction() {
			return errFindings
		}
	}
	return nil
}

// reportErrors prints, one line each on stderr, the problems and then the
// refs that could not be resolved, and returns how many there were.
func reportErrors(env *Env, findings []report.Finding, problems []report.Problem) int {
	printProblems(env.Stderr, problems)
	n := len(problems)
	for _, f := range findings {
		if f.Status == report.Error {
			n++
			printRefError(env, f)
		}
	}
	return n
}

// printRefError prints one line naming the file, line, ref and what to do.
func printRefError(env *Env, f report.Finding) {
	fmt.Fprintf(env.Stderr, "%s:%d: %s: %s\n", f.File, f.Line, f.Ref, f.Message)
}

// sarifRoot is the folder SARIF paths are relative to: the single PATH, or
// the current folder when several are given (their files are then named
// with their PATH prefix).
func sarifRoot(paths []string) string {
	if len(paths) != 1 {
		return "."
	}
	if info, err := os.Stat(paths[0]); err == nil && !info.IsDir() {
		return dirOf(paths[0])
	}
	return paths[0]
}

// statusCounts are check's Action outputs: one count per status, plus
// needs-action and errors (ref errors and unreadable files).
func statusCounts(findings []report.Finding, problems int) map[string]string {
	counts := map[report.Status]int{}
	action := 0
	for _, f := range findings {
		counts[f.Status]++
		if f.Status.NeedsAction() {
			action++
		}
	}
	kv := map[string]string{
		"findings":     strconv.Itoa(len(findings)),
		"needs-action": strconv.Itoa(action),
		"errors":       strconv.Itoa(counts[report.Error] + problems),
	}
	for _, st := range report.AllStatuses {
		if st != report.Error {
			kv[string(st)] = strconv.Itoa(counts[st])
		}
	}
	return kv
}
