package rewriters

import (
	"bufio"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// corpusNextDir holds real files in the formats added after the first
// corpus; shared and read-only, absent outside the project's machines.
var corpusNextDir = filepath.Join("..", "..", "shared", "corpus-next")

// corpusNextManifest reads MANIFEST.tsv: path → (format, hand count).
func corpusNextManifest(t *testing.T) map[string]struct {
	format string
	hand   int
} {
	t.Helper()
	fh, err := os.Open(filepath.Join(corpusNextDir, "MANIFEST.tsv"))
	if err != nil {
		t.Skipf("corpus-next not available: %v", err)
	}
	defer fh.Close()
	out := map[string]struct {
		format string
		hand   int
	}{}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for first := true; sc.Scan(); first = false {
		cols := strings.Split(sc.Text(), "\t")
		if first || len(cols) < 7 {
			continue
		}
		n, err := strconv.Atoi(cols[6])
		if err != nil {
			t.Fatalf("MANIFEST.tsv: %s: image_refs %q", cols[0], cols[6])
		}
		out[cols[0]] = struct {
			format string
			hand   int
		}{cols[1], n}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCorpusNextHelmGitLab runs the Helm and GitLab CI formats over every
// helm-values, gitlab-ci and gitlab-ci-aux file of corpus-next and compares
// the refs found with the hand count. found counts every ref reported
// (skipped ones included); skipped counts those reported as skipped. Every
// difference from the hand count is explained in why.
//
// The corpus holds values files without their charts: each is read through
// a synthetic Tree holding a Chart.yaml beside it (appVersion 1.0.0, and the
// dependencies the real chart declares where its values configure one), as
// Claim requires.
func TestCorpusNextHelmGitLab(t *testing.T) {
	t.Parallel()
	manifest := corpusNextManifest(t)
	rows := []struct {
		path    string
		hand    int
		found   int
		skipped int
		deps    []string // the real chart's dependencies, for its Chart.yaml
		why     string
	}{
		{path: "argoproj__argo-helm/charts/argo-cd/values.yaml", hand: 8, found: 8, skipped: 1, deps: []string{"redis-ha"},
			why: "redis-ha.haproxy.image has a repository and no tag: the tag comes from the redis-ha subchart, which is not vendored, so it is reported skipped. The 8 maps with repository \"\" inherit global.image and are not refs, as the hand count says"},
		{path: "prometheus-community__helm-charts/charts/kube-prometheus-stack/values.yaml", hand: 10, found: 10, skipped: 1,
			deps: []string{"crds", "kube-state-metrics", "prometheus-node-exporter", "grafana", "prometheus-windows-exporter"},
			why:  "same count; crds.upgradeJob.image.kubectl's empty tag sits in the section of the crds dependency, not vendored in this tree, so it is skipped (its templates default it to the Kubernetes version, which the appVersion rule would not know either)"},
		{path: "prometheus-community__helm-charts/charts/prometheus-node-exporter/values.yaml", hand: 3, found: 3},
		{path: "kubernetes__ingress-nginx/charts/ingress-nginx/values.yaml", hand: 4, found: 4,
			why: "same count: the controller map gives two refs (controller and, at digestChroot, controller-chroot)"},
		{path: "traefik__traefik-helm-chart/traefik/values.yaml", hand: 4, found: 4,
			why: "same count: the all-null main image map is not a ref"},
		{path: "jupyterhub__zero-to-jupyterhub-k8s/jupyterhub/values.yaml", hand: 10, found: 10, skipped: 5,
			why: "the five set-by-chartpress tags are counted by hand and reported skipped (placeholder tags)"},
		{path: "cert-manager__cert-manager/deploy/charts/cert-manager/values.yaml", hand: 5, found: 5,
			why: "same count: imageRegistry/imageNamespace/image.name with the appVersion; no digest key (it is only in comments), so fix cannot pin them and says so"},

		{path: "firecow__gitlab-ci-local/tests/test-cases/services/.gitlab-ci.yml", hand: 26, found: 26,
			why: "same count: .service-entry-ref is found through the two !reference uses"},
		{path: "firecow__gitlab-ci-local/tests/test-cases/image/.gitlab-ci.yml", hand: 7, found: 8, skipped: 1,
			why: "image: ${DEBIAN_IMAGE_URL} is reported skipped (a CI/CD variable); the hand count leaves variables out"},
		{path: "firecow__gitlab-ci-local/tests/test-cases/image/.gitlab-ci-local-variables.yml", hand: 1, found: 0,
			why: "a gitlab-ci-local variables file is that tool's own format, not GitLab CI: not read (the variable it sets is skipped where used)"},
		{path: "firecow__gitlab-ci-local/tests/test-cases/include-component/component/.gitlab-ci.yml", hand: 0, found: 0},
		{path: "firecow__gitlab-ci-local/tests/test-cases/local-registry/.gitlab-ci.yml", hand: 5, found: 5},
		{path: "firecow__gitlab-ci-local/tests/test-cases/inherit/.gitlab-ci-inherit-default.yml", hand: 1, found: 1,
			why: "same count when read directly; its name is not .gitlab-ci.yml, so a scan reads it only when an include names it"},
		{path: "firecow__gitlab-ci-local/tests/test-cases/variable-expansion/.gitlab-ci.yml", hand: 3, found: 3},
		{path: "Kitware__CMake/.gitlab-ci.yml", hand: 0, found: 0,
			why: "same count; its include: local: entries are followed (checked below)"},
		{path: "Kitware__CMake/.gitlab/os-linux.yml", hand: 21, found: 22, skipped: 1,
			why: "kitware/intelcompiler:$CMAKE_CI_INTELCOMPILER_IMAGE_TAG is reported skipped (a CI/CD variable); the hand count leaves variables out"},
		{path: "Kitware__CMake/.gitlab/upload.yml", hand: 2, found: 2},
		{path: "PipeWire__pipewire/.gitlab-ci.yml", hand: 0, found: 0},
	}
	covered := map[string]bool{}
	for _, row := range rows {
		covered[row.path] = true
		m, ok := manifest[row.path]
		if !ok {
			t.Errorf("%s: not in MANIFEST.tsv", row.path)
			continue
		}
		if m.hand != row.hand {
			t.Errorf("%s: MANIFEST.tsv counts %d, the table %d: update the table and its why", row.path, m.hand, row.hand)
		}
		if row.found != row.hand && row.why == "" {
			t.Errorf("%s: found %d differs from the hand count %d with no explanation", row.path, row.found, row.hand)
		}
	}
	for p, m := range manifest {
		if (strings.HasPrefix(m.format, "helm") || strings.HasPrefix(m.format, "gitlab")) && !covered[p] {
			t.Errorf("%s (%s) is in MANIFEST.tsv but not in the table", p, m.format)
		}
	}

	for _, row := range rows {
		t.Run(row.path, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join(corpusNextDir, filepath.FromSlash(row.path)))
			if err != nil {
				t.Fatal(err)
			}
			var ft Format
			var f *File
			if manifest[row.path].format == "helm-values" {
				ft = helmFormat{}
				chart := "apiVersion: v2\nname: corpus\nversion: 1.0.0\nappVersion: 1.0.0\n"
				if len(row.deps) > 0 {
					chart += "dependencies:\n"
					for _, d := range row.deps {
						chart += "  - name: " + d + "\n    version: 1.x\n"
					}
				}
				tree := fstest.MapFS{
					"chart/Chart.yaml":  {Data: []byte(chart)},
					"chart/values.yaml": {Data: src},
				}
				f = &File{Path: "chart/values.yaml", Src: src, Tree: tree}
				if !ft.Claim(f) {
					t.Fatal("Helm does not claim a values.yaml beside a Chart.yaml")
				}
			} else {
				ft = gitlabFormat{}
				repo, rel, _ := strings.Cut(row.path, "/")
				f = &File{Path: rel, Src: src, Tree: os.DirFS(filepath.Join(corpusNextDir, repo))}
			}
			refs, err := ft.Find(f)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			skipped := 0
			for _, r := range refs {
				if r.Skip != "" {
					skipped++
				}
			}
			if len(refs) != row.found || skipped != row.skipped {
				var b strings.Builder
				for _, r := range refs {
					b.WriteString(strconv.Itoa(r.Line) + " " + r.Context + " " + r.Text + " " + r.Skip + "\n")
				}
				t.Errorf("found %d refs (%d skipped), the table says %d (%d skipped):\n%s", len(refs), skipped, row.found, row.skipped, b.String())
			}
			// The invariants every format keeps (the shared harness's).
			hCheckFile(t, hFile{path: f.Path, data: src}, hFileResult{path: f.Path, format: ft, refs: refs})
			if row.path == "Kitware__CMake/.gitlab-ci.yml" {
				got := f.Followed()
				for _, want := range []string{".gitlab/os-linux.yml", ".gitlab/upload.yml"} {
					if !slices.Contains(got, want) {
						t.Errorf("Followed() = %v, want it to hold %s", got, want)
					}
				}
				for _, p := range got {
					if path.Dir(p) != ".gitlab" {
						t.Errorf("followed %s, which no include names", p)
					}
				}
			}
		})
	}
}

// BenchmarkHelmFindLargeValues reads kube-prometheus-stack's 208 KB
// values.yaml (10 image maps) beside a Chart.yaml.
func BenchmarkHelmFindLargeValues(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(corpusNextDir, "prometheus-community__helm-charts", "charts", "kube-prometheus-stack", "values.yaml"))
	if err != nil {
		b.Skipf("corpus-next not available: %v", err)
	}
	tree := fstest.MapFS{"c/Chart.yaml": {Data: []byte("apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: 1.0.0\n")}}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		refs, err := helmFormat{}.Find(&File{Path: "c/values.yaml", Src: src, Tree: tree})
		if err != nil || len(refs) != 10 {
			b.Fatalf("%d refs, %v", len(refs), err)
		}
	}
}

// BenchmarkGitLabFindIncluded reads CMake's 24 KB .gitlab/os-linux.yml.
func BenchmarkGitLabFindIncluded(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(corpusNextDir, "Kitware__CMake", ".gitlab", "os-linux.yml"))
	if err != nil {
		b.Skipf("corpus-next not available: %v", err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		refs, err := gitlabFormat{}.Find(&File{Path: ".gitlab/os-linux.yml", Src: src})
		if err != nil || len(refs) != 22 {
			b.Fatalf("%d refs, %v", len(refs), err)
		}
	}
}

// BenchmarkHelmFindManyMaps reads a values file of 16,000 top-level image
// maps: the global.* and top-level lookups every map makes are cached per
// document, so the cost is linear (it was quadratic: 50,000 maps took 615 s).
//
// Recorded (2 cores shared with other jobs): 0.50-0.68 s/op after, 11.2 s/op
// before (the time in yamlLookup from helmWalker.global).
func BenchmarkHelmFindManyMaps(b *testing.B) {
	var sb strings.Builder
	for i := range 16000 {
		sb.WriteString("i" + strconv.Itoa(i) + ":\n  image:\n    repository: nginx\n    tag: \"1." + strconv.Itoa(i%50) + "\"\n    digest: \"\"\n")
	}
	src := []byte(sb.String())
	tree := fstest.MapFS{"c/Chart.yaml": {Data: []byte("apiVersion: v2\nname: c\nversion: 1.0.0\n")}}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		refs, err := helmFormat{}.Find(&File{Path: "c/values.yaml", Src: src, Tree: tree})
		if err != nil || len(refs) != 16000 {
			b.Fatalf("%d refs, %v", len(refs), err)
		}
	}
}
