package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/google/go-github/v75/github"
	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/plan"
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
		Base struct {
			SHA string `json:"sha"`
		} `json:"base"`
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
	headSHA, baseSHA := "", ""
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
				number, headSHA, baseSHA = n, ev.PullRequest.Head.SHA, ev.PullRequest.Base.SHA
			}
		}
	}
	if number <= 0 {
		return usageError("no pull request: comment runs on pull_request events (GITHUB_EVENT_PATH); elsewhere pass --pr N")
	}
	client, err := gs.client(ctx, env)
	if err != nil {
		return err
	}
	// The checkout is the pull request's head: its config is the author's.
	// Where registry requests (and so credentials) go is decided by the
	// base branch's config, the trusted one.
	// So is the signature policy: a pull request cannot loosen the rules
	// (or swap the keys) its own images are judged by.
	tmp, err := os.MkdirTemp("", "digestbot-base-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	trusted := baseConfig(ctx, env, client, gs, number, baseSHA, tmp)
	out, err := planInRepoWith(ctx, env, opts.Paths, opts.ConfigFile, opts.Resolve, func(po *plan.Options) {
		po.TrustedRegistries = &trusted.registries
		po.TrustedVerify = &trusted.verify
	})
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
		LineText: out.LineText, EditLines: editLines(out.Files),
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

// trustedConfig is what comment takes from the base branch's config rather
// than the pull request head's: where registry requests (and so
// credentials) go, and the signature policy with the key and trusted-root
// files it names. A pull request can neither redirect credentials nor
// loosen (or swap the keys of) the verify rules its own images are judged
// by.
type trustedConfig struct {
	registries map[string]config.Registry
	verify     []config.VerifyRule
}

// baseConfig reads the trusted parts of the base branch's config (at
// baseSHA, or the pull request's base when it is ""). Without one, or when
// it cannot be read, both are empty: every registry is then reached under
// its own name with its own credentials, and no verify rule applies. The
// key and trusted-root files the base's rules name are read from the base
// branch too, into dir.
func baseConfig(ctx context.Context, env *Env, client *github.Client, gs githubSettings, number int, baseSHA, dir string) trustedConfig {
	warn := func(why string) trustedConfig {
		fmt.Fprintln(env.Stderr, "digestbot: "+safeMsg("the base branch's config could not be read ("+why+"); registries are reached under their own names, as without a registries: section, and no verify rule applies"))
		return trustedConfig{registries: map[string]config.Registry{}}
	}
	if baseSHA == "" {
		pr, _, err := client.PullRequests.Get(ctx, gs.repo.Owner, gs.repo.Name, number)
		if err != nil {
			return warn(err.Error())
		}
		baseSHA = pr.GetBase().GetSHA()
	}
	b, name, err := pullreq.ReadFileAt(ctx, client, gs.repo, baseSHA, config.FileNames...)
	switch {
	case err != nil:
		return warn(err.Error())
	case b == nil:
		return trustedConfig{registries: map[string]config.Registry{}}
	}
	c, err := config.Parse(b)
	if err != nil {
		return warn(name + ": " + err.Error())
	}
	tc := trustedConfig{registries: c.Registries}
	if tc.registries == nil {
		tc.registries = map[string]config.Registry{}
	}
	// The rules' files are relative to the config, at the repository root;
	// each is fetched from the base branch under a name of our own.
	fetch := func(rel string) (string, error) {
		if filepath.IsAbs(rel) {
			return "", fmt.Errorf("%s: an absolute path cannot be read from the base branch", rel)
		}
		raw, _, err := pullreq.ReadFileAt(ctx, client, gs.repo, baseSHA, path.Clean(filepath.ToSlash(rel)))
		if err != nil {
			return "", err
		}
		if raw == nil {
			return "", fmt.Errorf("%s does not exist on the base branch", rel)
		}
		f, err := os.CreateTemp(dir, "verify-*")
		if err != nil {
			return "", err
		}
		defer f.Close()
		if _, err := f.Write(raw); err != nil {
			return "", err
		}
		return f.Name(), nil
	}
	for _, r := range c.Verify {
		r.Keys = append([]string(nil), r.Keys...)
		for i, k := range r.Keys {
			p, err := fetch(k)
			if err != nil {
				return warn(name + ": verify key " + err.Error())
			}
			r.Keys[i] = p
		}
		if r.TrustedRoot != "" {
			p, err := fetch(r.TrustedRoot)
			if err != nil {
				return warn(name + ": verify trusted-root " + err.Error())
			}
			r.TrustedRoot = p
		}
		tc.verify = append(tc.verify, r)
	}
	return tc
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
