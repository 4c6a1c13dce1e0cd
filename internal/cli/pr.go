package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/pkg/pullreq"
)

func init() { extraCommands = append(extraCommands, newPRCmd) }

func newPRCmd(env *Env, g *globalFlags) *cobra.Command {
	var dryRun bool
	var base string
	var rf *resolveFlags
	cmd := &cobra.Command{
		Use:   "pr [PATH]",
		Short: "Open or update one pull request that pins every image (GitHub)",
		Long: `pr computes the fixes as fix does, from a checkout of the repository, then
through the GitHub API makes one branch (pull-request.branch in .digestbot.yaml,
default digestbot/pin-digests) hold one commit on top of the base branch with
only the changed files, and opens, or updates in place, one pull request that
lists every change. A run with nothing new writes nothing; when the base
already pins everything, digestbot's open pull request is closed and its
branch deleted.

It reads GITHUB_TOKEN, GITHUB_REPOSITORY (owner/name) and GITHUB_API_URL
(GitHub Enterprise Server), and writes pr-number, pr-url, pr-action and
changes to $GITHUB_OUTPUT when set.

Exit codes: 0 done, 2 an error (a ref that could not be resolved is reported,
and the rest are still published).`,
		Example: `  GITHUB_REPOSITORY=acme/shop GITHUB_TOKEN=... digestbot pr
  digestbot pr --dry-run --base release`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			gs, err := readGitHubSettings(env, !dryRun)
			if err != nil {
				return err
			}
			out, cfg, err := planInRepo(ctx, env, g, args, rf)
			if err != nil {
				return err
			}
			errs := reportErrors(env, out.Findings, out.Problems)
			warnImageChangesPR(env, out.Files)
			changes := 0
			for _, fc := range out.Files {
				changes += len(fc.Changes)
			}
			outputs := map[string]string{
				"changes": strconv.Itoa(changes), "files": strconv.Itoa(len(out.Files)), "errors": strconv.Itoa(errs),
				"pr-number": "", "pr-url": "", "pr-action": pullreq.ActionNone,
			}
			if len(out.Files) == 0 && errs > 0 {
				// Not knowing every ref is not knowing the base pins them all.
				fmt.Fprintf(env.Stderr, "digestbot: nothing to pin, but %d %s could not be checked; leaving any open pull request as it is\n", errs, pluralWord(errs, "reference or file", "references or files"))
				if err := writeGitHubOutput(env, outputs); err != nil {
					return err
				}
				return errReported
			}
			client, err := gs.client(ctx, env)
			if err != nil {
				return err
			}
			steps := env.Stderr
			if dryRun {
				steps = env.Stdout
			}
			pc := cfg.PullRequest
			res, err := pullreq.Publish(ctx, client, gs.repo, pullreq.PROptions{
				Base: base, Branch: pc.Branch, Title: pc.Title, CommitMessage: pc.CommitMessage,
				Labels: pc.Labels, Reviewers: pc.Reviewers, TeamReviewers: pc.TeamReviewers,
				DryRun: dryRun, Out: steps,
			}, out.Files)
			if err != nil {
				return &exitError{code: ExitError, msg: err.Error()}
			}
			if res.Number > 0 {
				outputs["pr-number"] = strconv.Itoa(res.Number)
			}
			outputs["pr-url"], outputs["pr-action"] = res.URL, res.Action
			if res.URL != "" {
				fmt.Fprintln(env.Stdout, res.URL)
			}
			if !dryRun {
				if err := writeGitHubOutput(env, outputs); err != nil {
					return err
				}
			}
			if errs > 0 {
				return errReported
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "read from GitHub and print what would be done; write nothing")
	cmd.Flags().StringVar(&base, "base", "", "branch the pull request targets (default: the repository's default branch)")
	rf = addResolveFlags(cmd)
	return cmd
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
