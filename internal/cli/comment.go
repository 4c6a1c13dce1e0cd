package cli

import (
	"context"
	"encoding/json"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/pullreq"
	"github.com/digestbot/digestbot/pkg/report"
)

// pullRequestEvent is the part of a pull_request event digestbot reads.
type pullRequestEvent struct {
	Number      int `json:"number"`
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			SHA string `json:"sha"`
		} `json:"head"`
	} `json:"pull_request"`
}

// CommentOptions are comment's flags and arguments.
type CommentOptions struct {
	Env        *Env
	Paths      []string
	ConfigFile string
	DryRun     bool
	Number     int
	Resolve    ResolveOptions
}

func newCommentCmd(env *Env, g *globalFlags, runF func(context.Context, *CommentOptions) error) *cobra.Command {
	opts := &CommentOptions{Env: env}
	cmd := &cobra.Command{
		Use:   "comment [PATH]",
		Short: "Comment on the image references a pull request adds or changes (GitHub)",
		Long: `comment checks, in a checkout of a pull request's head, the image references
on lines the pull request adds or changes. It keeps one summary comment up to
date (edited on every run, never duplicated) and posts one review with a
suggestion on each line to pin, which the author applies with one click.
When the token cannot write (pull requests from forks), it writes workflow
annotations and the job summary instead.

The pull request comes from the pull_request event at GITHUB_EVENT_PATH, or
--pr. It reads GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL, and
writes checked, needs-action, errors and suggestions to $GITHUB_OUTPUT.

Exit codes, as check, for the lines the pull request changes: 0 all pinned,
1 something needs action, 2 an error.`,
		Example: `  digestbot comment
  digestbot comment --pr 42 --dry-run`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths, opts.ConfigFile = defaultPaths(args), g.config
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return commentRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "read from GitHub and print what would be posted; write nothing")
	cmd.Flags().IntVar(&opts.Number, "pr", 0, "pull request number (default: from the pull_request event)")
	addResolveFlags(cmd, &opts.Resolve)
	return cmd
}

func commentRun(ctx context.Context, opts *CommentOptions) error {
	env, dryRun, number := opts.Env, opts.DryRun, opts.Number
	gs, err := readGitHubSettings(env, !dryRun)
	if err != nil {
		return err
	}
	headSHA := ""
	if p := env.Getenv("GITHUB_EVENT_PATH"); p != "" {
		ev, err := readEvent(p)
		if err != nil {
			return err
		}
		if ev.PullRequest != nil {
			n := ev.Number
			if n == 0 {
				n = ev.PullRequest.Number
			}
			if number == 0 || number == n {
				number, headSHA = n, ev.PullRequest.Head.SHA
			}
		}
	}
	if number <= 0 {
		return usageError("no pull request: comment runs on pull_request events (GITHUB_EVENT_PATH); elsewhere pass --pr N")
	}
	out, err := planInRepo(ctx, env, opts.Paths, opts.ConfigFile, opts.Resolve)
	if err != nil {
		return err
	}
	client, err := gs.client(ctx, env)
	if err != nil {
		return err
	}
	steps := env.Stderr
	if dryRun {
		steps = env.Stdout
	}
	res, err := pullreq.Comment(ctx, client, gs.repo, number, pullreq.CommentOptions{
		HeadSHA: headSHA, DryRun: dryRun, Out: steps,
		Annotations: env.Stdout, StepSummaryPath: env.Getenv("GITHUB_STEP_SUMMARY"),
		LineText: out.LineText,
	}, out.Findings, fixedLines(out.Files))
	if err != nil {
		return &exitError{code: ExitError, msg: err.Error()}
	}
	if err := report.WriteText(env.Stdout, res.Findings); err != nil {
		return err
	}
	// Problems count only in files the pull request changes.
	var problems []finding.Problem
	for _, p := range out.Problems {
		if res.ChangedFiles[p.File] {
			problems = append(problems, p)
		}
	}
	if !dryRun {
		if err := writeGitHubOutput(env, map[string]string{
			"checked": strconv.Itoa(res.Checked), "needs-action": strconv.Itoa(res.NeedsAction),
			"errors": strconv.Itoa(res.Errors + len(problems)), "suggestions": strconv.Itoa(res.Suggestions),
			"fallback": strconv.FormatBool(res.Fallback), "comment-url": res.SummaryURL,
		}); err != nil {
			return err
		}
	}
	return verdict(env, res.Findings, problems)
}

func readEvent(path string) (*pullRequestEvent, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError("read GITHUB_EVENT_PATH: %v", err)
	}
	var ev pullRequestEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, usageError("GITHUB_EVENT_PATH %s is not an event JSON: %v", path, err)
	}
	return &ev, nil
}
