package plan

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/finding"
)

// RepoPrefix is the scan root's path inside the repository ('/'-separated,
// with a trailing slash; "" at the root). The repository root is the
// nearest folder holding .git, else workspace (GITHUB_WORKSPACE) when it
// holds root, else root itself.
func RepoPrefix(root, workspace string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	if info, err := os.Stat(abs); err != nil || !info.IsDir() {
		return "", errorf(ErrNotFolder, "%s is not a folder; run this command on the repository checkout (default .)", root)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	top, _ := config.RepoRoot(abs)
	if top == "" && workspace != "" {
		if w, err := filepath.Abs(workspace); err == nil {
			if r, err := filepath.EvalSymlinks(w); err == nil {
				w = r
			}
			if rel, err := filepath.Rel(w, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				top = w
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

// inRepo renames every path of the outcome with prefix (repository-relative
// names, as the GitHub API uses).
func (out *Outcome) inRepo(prefix string) {
	if prefix == "" {
		return
	}
	fix := func(ps []finding.Problem) {
		for i := range ps {
			ps[i].File = prefix + ps[i].File
		}
	}
	for i := range out.Findings {
		out.Findings[i].File = prefix + out.Findings[i].File
	}
	sources := make(map[string][]byte, len(out.sources))
	for name, src := range out.sources {
		sources[prefix+name] = src
	}
	out.sources = sources
	out.lines = nil
	fix(out.Problems)
	fix(out.Attention)
	fix(out.Unpinnable)
	for i, fc := range out.Files {
		f := *fc.File
		f.Path = prefix + f.Path
		out.Files[i].File = &f
		changes := append([]finding.Change(nil), fc.Changes...)
		for j := range changes {
			changes[j].File = prefix + changes[j].File
		}
		out.Files[i].Changes = changes
	}
}
