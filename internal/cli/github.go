package cli

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/google/go-github/v75/github"

	"github.com/digestbot/digestbot/pkg/plan"
	"github.com/digestbot/digestbot/pkg/pullreq"
)

// githubSettings are what pr and comment read from the environment.
type githubSettings struct {
	repo   pullreq.Repo
	token  string
	apiURL string
}

func readGitHubSettings(env *Env, needToken bool) (githubSettings, error) {
	var s githubSettings
	r := env.Getenv("GITHUB_REPOSITORY")
	if r == "" {
		return s, usageError("GITHUB_REPOSITORY is not set; GitHub Actions sets it, elsewhere set it to owner/name")
	}
	repo, err := pullreq.ParseRepo(r)
	if err != nil {
		return s, usageError("GITHUB_REPOSITORY: %v", err)
	}
	s.repo = repo
	s.token = env.Getenv("GITHUB_TOKEN")
	if s.token == "" && needToken {
		return s, usageError("GITHUB_TOKEN is not set; in a workflow pass `token: ${{ github.token }}` (the Action does) or set env GITHUB_TOKEN")
	}
	s.apiURL = env.Getenv("GITHUB_API_URL")
	return s, nil
}

func (s githubSettings) client(ctx context.Context, env *Env) (*github.Client, error) {
	c, err := pullreq.NewClient(ctx, s.token, s.apiURL, pullreq.WithRetry(pullreq.RetryPolicy{
		Notify: func(msg string) { fmt.Fprintln(env.Stderr, "digestbot: "+safeMsg(msg)) },
	}))
	if err != nil {
		return nil, usageError("%v", err)
	}
	return c, nil
}

// writeGitHubOutput appends step outputs to $GITHUB_OUTPUT when it is set.
func writeGitHubOutput(env *Env, kv map[string]string) error {
	path := env.Getenv("GITHUB_OUTPUT")
	if path == "" {
		return nil
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := strings.NewReplacer("\r", " ", "\n", " ").Replace(kv[k])
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write step outputs (GITHUB_OUTPUT): %w", err)
	}
	_, werr := f.WriteString(b.String())
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return fmt.Errorf("write step outputs (GITHUB_OUTPUT): %w", werr)
	}
	return nil
}

// fixedLines maps every line fix would change (the lines each change's
// edits touch) to its full fixed text. digestbot's edits never add or
// remove lines, so line numbers hold.
func fixedLines(files []plan.FileChange) map[pullreq.FileLine]string {
	out := map[pullreq.FileLine]string{}
	for _, fc := range files {
		lines := strings.Split(string(fc.New), "\n")
		for _, c := range fc.Changes {
			for _, l := range c.Lines {
				if l >= 1 && l <= len(lines) {
					out[pullreq.FileLine{File: fc.File.Path, Line: l}] = strings.TrimSuffix(lines[l-1], "\r")
				}
			}
		}
	}
	return out
}

// warnImageChangesPR calls out the fixes that change which image runs.
func warnImageChangesPR(env *Env, files []plan.FileChange) {
	for _, fc := range files {
		for _, c := range fc.Changes {
			if c.Status.ChangesImage() {
				fmt.Fprintf(env.Stderr, "WARNING: %s:%d: %s (%s): %s — merging the pull request changes the image that runs; review it\n",
					safeLine(c.File), c.Line, safeLine(c.Old), c.Status, safeMsg(c.Message))
			}
		}
	}
}

// planInRepo runs the plan for pr and comment over PATH (default ".") and
// names files relative to the repository root, as the GitHub API does.
func planInRepo(ctx context.Context, env *Env, paths []string, configFile string, ro ResolveOptions) (*plan.Outcome, error) {
	return planInRepoWith(ctx, env, paths, configFile, ro, nil)
}

// planInRepoWith is planInRepo with the plan options adjusted by set.
func planInRepoWith(ctx context.Context, env *Env, paths []string, configFile string, ro ResolveOptions, set func(*plan.Options)) (*plan.Outcome, error) {
	prog := newProgress(env)
	defer prog.done()
	po, err := planOptions(env, paths, configFile, ro, prog)
	if err != nil {
		return nil, err
	}
	if set != nil {
		set(&po)
	}
	po.InRepo, po.Workspace = true, env.Getenv("GITHUB_WORKSPACE")
	out, err := plan.Run(ctx, po)
	if err != nil {
		return nil, runError(err)
	}
	return out, nil
}

// editLines maps each change's finding line to the lines its edits touch,
// where they differ (refs split over keys), for comment suggestions.
func editLines(files []plan.FileChange) map[pullreq.FileLine][]int {
	out := map[pullreq.FileLine][]int{}
	for _, fc := range files {
		for _, c := range fc.Changes {
			if len(c.Lines) != 1 || c.Lines[0] != c.Line {
				out[pullreq.FileLine{File: fc.File.Path, Line: c.Line}] = c.Lines
			}
		}
	}
	return out
}
