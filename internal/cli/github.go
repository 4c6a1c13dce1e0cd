package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-github/v75/github"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/pin"
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
		Notify: func(msg string) { fmt.Fprintln(env.Stderr, "digestbot: "+msg) },
	}))
	if err != nil {
		return nil, usageError("%v", err)
	}
	return c, nil
}

// repoPrefix is the scan root's path inside the repository ('/'-separated,
// with a trailing slash; "" at the root). The repository root is the
// nearest folder holding .git, else GITHUB_WORKSPACE, else the scan root.
func repoPrefix(env *Env, root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	if info, err := os.Stat(abs); err != nil || !info.IsDir() {
		return "", usageError("%s is not a folder; run this command on the repository checkout (default .)", root)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	top := ""
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			top = d
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if top == "" {
		if ws := env.Getenv("GITHUB_WORKSPACE"); ws != "" {
			if w, err := filepath.Abs(ws); err == nil {
				if r, err := filepath.EvalSymlinks(w); err == nil {
					w = r
				}
				if rel, err := filepath.Rel(w, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					top = w
				}
			}
		}
	}
	if top == "" {
		return "", nil
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || rel == "." {
		return "", nil
	}
	return filepath.ToSlash(rel) + "/", nil
}

// inRepo rewrites the paths of an outcome to be repository-relative.
func inRepo(out *pin.Outcome, prefix string) {
	if prefix == "" {
		return
	}
	for i := range out.Findings {
		out.Findings[i].File = prefix + out.Findings[i].File
	}
	for i := range out.Problems {
		out.Problems[i].File = prefix + out.Problems[i].File
	}
	for i, fc := range out.Files {
		f := *fc.File
		f.Path = prefix + f.Path
		out.Files[i].File = &f
		changes := append([]pin.Change(nil), fc.Changes...)
		for j := range changes {
			changes[j].File = prefix + changes[j].File
		}
		out.Files[i].Changes = changes
	}
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

// fixedLines maps every line fix would change to its full fixed text.
// digestbot's edits never add or remove lines, so line numbers hold.
func fixedLines(files []pin.FileChange) map[pullreq.FileLine]string {
	out := map[pullreq.FileLine]string{}
	for _, fc := range files {
		lines := strings.Split(string(fc.New), "\n")
		for _, c := range fc.Changes {
			if c.Line >= 1 && c.Line <= len(lines) {
				out[pullreq.FileLine{File: fc.File.Path, Line: c.Line}] = strings.TrimSuffix(lines[c.Line-1], "\r")
			}
		}
	}
	return out
}

// warnImageChangesPR calls out the fixes that change which image runs.
func warnImageChangesPR(env *Env, files []pin.FileChange) {
	for _, fc := range files {
		for _, c := range fc.Changes {
			if c.Status.ChangesImage() {
				fmt.Fprintf(env.Stderr, "WARNING: %s:%d: %s (%s): %s — merging the pull request changes the image that runs; review it\n",
					c.File, c.Line, c.Old, c.Status, c.Message)
			}
		}
	}
}

// planInRepo runs the plan for pr and comment over PATH (default ".") and
// names files relative to the repository root, as the GitHub API does.
func planInRepo(ctx context.Context, env *Env, g *globalFlags, args []string, rf *resolveFlags) (*pin.Outcome, *config.Config, error) {
	paths := defaultPaths(args)
	prefix, err := repoPrefix(env, paths[0])
	if err != nil {
		return nil, nil, err
	}
	out, cfg, err := runPlan(ctx, env, g, paths, rf)
	if err != nil {
		return nil, nil, err
	}
	inRepo(out, prefix)
	return out, cfg, nil
}
