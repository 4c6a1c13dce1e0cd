package rewriters

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusNextKinds maps MANIFEST.tsv formats of ../shared/corpus-next to the
// formats of this package that read them.
var corpusNextKinds = map[string]Kind{
	"gha-workflow":  GitHubActions,
	"gha-action":    GitHubActions,
	"kustomization": Kustomize,
	"tekton":        Kubernetes,
	"argo-workflow": Kubernetes,
	"devcontainer":  Devcontainer,
}

// corpusNextDiffs lists every file whose count of refs differs from the
// hand count in MANIFEST.tsv, with the count we find and why. We count the
// refs that are not skipped: those check resolves (unpinned, pinned,
// digest-only and composed refs). The hand counts include images that are
// data to GitHub or a tool (matrix entries, bundle params), which the
// contract does not read.
var corpusNextDiffs = map[string]struct {
	got int
	why string
}{
	// container.image: ${{ matrix.image }} is skipped (an expression); the
	// four images the hand count lists sit in strategy.matrix.include[],
	// which is data GitHub substitutes at run time, not an image field.
	"zizmorcore__zizmor/crates/zizmor/tests/integration/test-data/unpinned-images/matrix-in-image.yml": {0, "images only in matrix entries; container: ${{ matrix.image }} is skipped"},
	// Same: services.database.image is ${{ matrix.mysql || '' }}.
	"zizmorcore__zizmor/crates/zizmor/tests/integration/test-data/unpinned-images/issue-2097-repro.yml": {0, "image only in a matrix entry; the service image is an expression"},
	// Same: container: ${{ matrix.container }} with the images in matrix.include.
	"zizmorcore__zizmor/crates/zizmor/tests/integration/test-data/unpinned-images/urllib3-empty-matrix-container.yml": {0, "images only in matrix entries; the container is an expression"},
	// Tekton: a step image composed from a param with a default is a
	// composed ref (resolvable, reported, not pinned in place); the hand
	// count calls it skip.
	"tektoncd__catalog/task/argocd-task-sync-and-wait/0.2/argocd-task-sync-and-wait.yaml": {1, "quay.io/argoproj/argocd:$(params.argocd-version) is a composed ref (default v2.2.2)"},
	// The bundle is an OCI artifact named in a resolver param (value:), not
	// a container image field; the contract reads images, not taskRef
	// bundles.
	"tektoncd__pipeline/examples/v1/taskruns/beta/bundles-resolver.yaml": {0, "a taskRef bundle in params[].value, not an image field"},
}

// TestCorpusNext runs every corpus-next file of this package's new formats
// through its format: no file errors, the Find/Pin invariants hold (CRLF
// included), and the count of refs that are not skipped matches the hand
// count or an explained difference.
func TestCorpusNext(t *testing.T) {
	t.Parallel()
	dir := corpusNextDir // shared with the Helm/GitLab corpus test
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("corpus-next absent: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	seen, used := 0, map[string]bool{}
	for first := true; sc.Scan(); first = false {
		cols := strings.Split(sc.Text(), "\t")
		if first || len(cols) < 7 {
			continue
		}
		p, format := cols[0], cols[1]
		kind, ok := corpusNextKinds[format]
		if !ok {
			continue
		}
		want, err := strconv.Atoi(cols[6])
		if err != nil {
			t.Fatalf("%s: image_refs %q", p, cols[6])
		}
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		seen++
		why := ""
		if d, ok := corpusNextDiffs[p]; ok {
			used[p] = true
			want, why = d.got, d.why
		}
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			ft := ForKind(kind)
			// The repository-relative path: where the file's name says its
			// format, Classify must agree.
			_, rel, _ := strings.Cut(p, "/")
			if ft.Candidate(rel) {
				if got := Classify(rel, src); got != kind {
					t.Errorf("Classify(%q) = %q, want %q", rel, got, kind)
				}
			}
			refs, err := ft.Find(&File{Path: rel, Src: src})
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			hCheck(t, []hFile{{rel, src}}, Options{}, ft)
			hCheck(t, []hFile{{rel, []byte(strings.ReplaceAll(string(src), "\n", "\r\n"))}}, Options{}, ft)
			got := 0
			for _, r := range refs {
				if r.Skip == "" {
					got++
				}
				if testing.Verbose() {
					t.Logf("%d:%d %s %q skip=%q note=%q", r.Line, r.Column, r.Context, r.Text, r.Skip, r.Note)
				}
			}
			if got != want {
				t.Errorf("found %d refs, want %d %s", got, want, why)
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("MANIFEST.tsv lists none of the formats")
	}
	for p := range corpusNextDiffs {
		if !used[p] {
			t.Errorf("corpusNextDiffs lists %s, which the manifest does not", p)
		}
	}
}
