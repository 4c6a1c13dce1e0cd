package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/pkg/pullreq"
)

// PROptions are pr's flags and arguments.
type PROptions struct {
	Env        *Env
	Paths      []string
	ConfigFile string
	DryRun     bool
	Base       string
	Resolve    ResolveOptions
}

func newPRCmd(env *Env, g *globalFlags, runF func(context.Context, *PROptions) error) *cobra.Command {
	opts := &PROptions{Env: env}
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
			opts.Paths, opts.ConfigFile = defaultPaths(args), g.config
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return prRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "read from GitHub and print what would be done; write nothing")
	cmd.Flags().StringVar(&opts.Base, "base", "", "branch the pull request targets (default: the repository's default branch)")
	addResolveFlags(cmd, &opts.Resolve)
	return cmd
}

func prRun(ctx context.Context, opts *PROptions) error {
	env, dryRun := opts.Env, opts.DryRun
	gs, err := readGitHubSettings(env, !dryRun)
	if err != nil {
		return err
	}
	out, err := planInRepo(ctx, env, opts.Paths, opts.ConfigFile, opts.Resolve)
	if err != nil {
		return err
	}
	errs := reportErrors(env, out.Findings, out.Problems)
	printProblems(env.Stderr, out.Unpinnable)
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
	pc := out.Config.PullRequest
	res, err := pullreq.Publish(ctx, client, gs.repo, pullreq.PROptions{
		Base: opts.Base, Branch: pc.Branch, Title: pc.Title, CommitMessage: pc.CommitMessage,
		Labels: pc.Labels, Reviewers: pc.Reviewers, TeamReviewers: pc.TeamReviewers,
		DryRun: dryRun, Out: steps, NotPinned: out.Unpinnable,
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
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
