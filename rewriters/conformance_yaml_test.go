package rewriters

// Conformance of the compose and Kubernetes rewriters against Renovate's
// extractor tests (/work/shared/conformance/renovate, see its README for the
// data's meaning) and against the real-world corpus in /work/shared/corpus.
// Both data sets live outside the repository; the tests skip when absent.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/imgref"
)

// yamlConfDep is one dependency as Renovate's data describes it.
type yamlConfDep struct {
	Image  *string `json:"image"`
	Tag    *string `json:"tag"`
	Digest *string `json:"digest"`
	Skip   *string `json:"skip"`
}

func (d yamlConfDep) String() string {
	s := func(p *string) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprintf("%q", *p)
	}
	return fmt.Sprintf("{image:%s tag:%s digest:%s skip:%s}", s(d.Image), s(d.Tag), s(d.Digest), s(d.Skip))
}

type yamlConfCase struct {
	Name     string        `json:"name"`
	Input    string        `json:"input"`
	Expected []yamlConfDep `json:"expected"`
}

func yamlStrPtr(s string) *string { return &s }

// yamlConfFromRef turns one of our refs into Renovate's terms: a resolvable
// ref gives its name as written, tag and digest; a ref composed from
// variables gives contains-variable; any other skip keeps our reason (only
// exceptions below expect those).
func yamlConfFromRef(r Ref) yamlConfDep {
	switch {
	case strings.HasPrefix(r.Skip, "composed from variables"):
		return yamlConfDep{Skip: yamlStrPtr("contains-variable")}
	case r.Skip != "":
		return yamlConfDep{Image: yamlStrPtr(r.Text), Skip: yamlStrPtr(r.Skip)}
	}
	p, err := imgref.Parse(r.Resolvable())
	if err != nil {
		return yamlConfDep{Image: yamlStrPtr(r.Text), Skip: yamlStrPtr("invalid: " + err.Error())}
	}
	d := yamlConfDep{Image: yamlStrPtr(p.Name)}
	if p.Tag != "" {
		d.Tag = yamlStrPtr(p.Tag)
	}
	if p.Digest != "" {
		d.Digest = yamlStrPtr(p.Digest)
	}
	return d
}

// yamlConfException records where our contract deliberately differs from
// Renovate. want maps Renovate's expectation to ours; parseError says we
// return a *ParseError (the file is reported and left untouched).
type yamlConfException struct {
	reason     string
	parseError bool
	want       func(renovate []yamlConfDep) []yamlConfDep
	// differs: the two tools disagree on which refs there are. Otherwise
	// the answers are equivalent in different words (a file reported
	// unparsable where Renovate returns null; a build: service's image
	// reported skipped where Renovate drops it: neither is updated).
	differs bool
}

// composedDefaults replaces Renovate's contains-variable for
// ${IMAGE:-synkodevelopers/edplugins}:${TAG:-latest} with the composed ref
// digestbot reports (expanded from its defaults).
func composedDefaults(r []yamlConfDep) []yamlConfDep {
	out := appendBuilt("app-local-debug")(r)
	for i, d := range out {
		if d.Skip != nil && *d.Skip == "contains-variable" {
			out[i] = yamlConfDep{Image: yamlStrPtr("synkodevelopers/edplugins"), Tag: yamlStrPtr("latest")}
		}
	}
	return out
}

// appendBuilt adds the skipped build-output ref that Renovate drops.
func appendBuilt(image string) func([]yamlConfDep) []yamlConfDep {
	return func(r []yamlConfDep) []yamlConfDep {
		return append(append([]yamlConfDep(nil), r...), yamlConfDep{Image: yamlStrPtr(image), Skip: yamlStrPtr(skipComposeBuilt)})
	}
}

var yamlConfExceptions = map[string]yamlConfException{
	// Renovate returns null for YAML it cannot parse; our contract reports an
	// unparsable file (ParseError with its line) and leaves it untouched.
	"compose/returns null for malformed YAML": {reason: "unparsable file is reported", parseError: true},
	"kubernetes/handles invalid YAML files":   {reason: "unparsable file is reported", parseError: true},
	// "{- if … }" is neither YAML nor Go template syntax ({{ }}), so the file
	// does not parse: reported, not silently ignored.
	"kubernetes/does not return unknown kind": {reason: "unparsable file is reported", parseError: true},
	// Renovate drops services with build:; we report their image skipped
	// (built locally), so users see why it is not pinned.
	//
	// These three also hold ${IMAGE:-synkodevelopers/edplugins}:${TAG:-latest}:
	// Renovate skips it (contains-variable); the contract makes it a
	// composed ref, expanded from its defaults and checked (fix cannot pin
	// it: a digest there would override IMAGE and TAG from the environment).
	"compose/extracts multiple image lines for version 1":                         {reason: "composed ref from ${VAR:-d} defaults; build: services reported skipped", want: composedDefaults, differs: true},
	"compose/extracts multiple image lines for version 3":                         {reason: "composed ref from ${VAR:-d} defaults; build: services reported skipped", want: composedDefaults, differs: true},
	"compose/extracts multiple image lines for version 3 without set version key": {reason: "composed ref from ${VAR:-d} defaults; build: services reported skipped", want: composedDefaults, differs: true},
	// Renovate extracts image lines from templates by regex; our contract
	// skips templated files: their literal images are reported, skipped.
	"compose/extracts image of templated compose file": {reason: "templated file skipped", differs: true, want: func([]yamlConfDep) []yamlConfDep {
		return []yamlConfDep{{Image: yamlStrPtr("quay.io/nginx:0.0.1"), Skip: yamlStrPtr(skipYAMLTemplated)}}
	}},
	"kubernetes/extracts from complex templates": {reason: "templated file skipped", differs: true, want: func([]yamlConfDep) []yamlConfDep {
		return []yamlConfDep{{Image: yamlStrPtr("busybox"), Skip: yamlStrPtr(skipYAMLTemplated)}}
	}},
}

func yamlConformanceDir() string {
	return filepath.Join("..", "..", "shared", "conformance", "renovate")
}

func TestYAMLRenovateConformance(t *testing.T) {
	t.Parallel()
	used := map[string]bool{}
	total, passed := 0, 0
	for _, format := range []string{"compose", "kubernetes"} {
		data, err := os.ReadFile(filepath.Join(yamlConformanceDir(), format+".json"))
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("conformance data absent: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		var cases []yamlConfCase
		if err := json.Unmarshal(data, &cases); err != nil {
			t.Fatalf("%s.json: %v", format, err)
		}
		for _, c := range cases {
			key := format + "/" + c.Name
			total++
			src := []byte(c.Input)
			var refs []Ref
			var err error
			switch format {
			case "compose":
				// Renovate's compose manager runs on files matched by name.
				refs, err = ForKind(Compose).Find(&File{Path: "docker-compose.yml", Src: src})
			case "kubernetes":
				// Renovate's Kubernetes manager needs apiVersion and kind
				// in the file; Classify is our equivalent.
				if Classify("manifest.yaml", src) == Kubernetes {
					refs, err = ForKind(Kubernetes).Find(&File{Path: "manifest.yaml", Src: src})
				}
			}
			want := c.Expected
			exc, isExc := yamlConfExceptions[key]
			if isExc {
				used[key] = true
				if exc.want != nil {
					want = exc.want(c.Expected)
				}
			}
			var pe *ParseError
			if isExc && exc.parseError {
				if !errors.As(err, &pe) {
					t.Errorf("%s: want a *ParseError (%s), got refs %v err %v", key, exc.reason, refs, err)
				} else {
					passed++
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: Find: %v", key, err)
				continue
			}
			var got []yamlConfDep
			for _, r := range refs {
				got = append(got, yamlConfFromRef(r))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s:\n got  %v\n want %v", key, got, want)
				continue
			}
			passed++
		}
	}
	for key := range yamlConfExceptions {
		if !used[key] {
			t.Errorf("exception %q matches no conformance case", key)
		}
	}
	differ := 0
	for _, e := range yamlConfExceptions {
		if e.differs {
			differ++
		}
	}
	t.Logf("Renovate conformance: %d/%d cases pass; %d agree (%d in other words), %d are deliberate differences",
		passed, total, total-differ, len(used)-differ, differ)
}

// yamlCorpusKnown lists corpus files whose classification differs from
// MANIFEST.tsv, and why our answer is the right one.
var yamlCorpusKnown = map[string]struct {
	kind     Kind
	pinnable bool // a "templated" file that is in fact applied as written
	reason   string
}{
	// A JSON 6902 patch list: no apiVersion or kind, so not a manifest by
	// our definition; its image sits under value:, not in a containers list.
	"argoproj__argo-cd/manifests/ha/base/redis-ha/overlays/deployment-initContainers.yaml": {"", false, "JSON 6902 patch: no apiVersion/kind"},
	// A Prow job config: pod specs but no apiVersion/kind.
	"updatecli__updatecli/pkg/plugins/autodiscovery/kubernetes/testdata/prow/prow.yaml": {"", false, "Prow config: no apiVersion/kind"},
	// UTF-16: the keys are not there as UTF-8 bytes. It has no images and
	// must come through unchanged, which "" guarantees (never opened).
	"argoproj__argo-cd/reposerver/repository/testdata/utf-16/utf-16.yaml": {"", false, "UTF-16 file is not read"},
	// Listed as templated, but its {{PROJECT_ID}} placeholders sit inside
	// block scalars (a config template in a ConfigMap, filled at run time
	// by sed in an init container): the file is applied as written, and
	// SOURCES.md says its images are literal and pinnable. Our rule reads
	// "{{" inside block or quoted scalars as text, so its images are refs.
	"templated/GoogleCloudPlatform__microservices-demo/kustomize/components/google-cloud-operations/otel-collector.yaml": {Kubernetes, true, "placeholders only inside block scalars"},
	// Listed as templated, but they parse as YAML: a file that parses is
	// never skipped whole for {{ }}; only the values holding a template
	// are skipped, and the literal images are refs (DESIGN.md, Kubernetes).
	"templated/argoproj__argo-cd/test/e2e/testdata/helm-guestbook/templates/guestbook-ui-deployment.yaml": {Kubernetes, true, "parses as YAML: only {{ }} values are skipped"},
	"templated/kubernetes__examples/_archived/storage/vitess/etcd-controller-template.yaml":               {Kubernetes, true, "parses as YAML: only {{ }} values are skipped"},
	"templated/kubernetes__examples/_archived/storage/vitess/vttablet-pod-template.yaml":                  {Kubernetes, true, "parses as YAML: only {{ }} values are skipped"},
	// Kustomizations are their own format: images[] entries are split
	// refs (name, newTag, digest), not containers.
	"argoproj__argo-cd/manifests/base/kustomization.yaml":                                                       {Kustomize, false, "kustomization: the kustomize format"},
	"GoogleCloudPlatform__microservices-demo/kustomize/components/container-images-registry/kustomization.yaml": {Kustomize, false, "kustomization: the kustomize format"},
}

func yamlCorpusDir() string { return filepath.Join("..", "..", "shared", "corpus") }

// TestYAMLCorpus runs every compose, Kubernetes and templated YAML file of
// the corpus through Classify and Find and checks the invariants.
func TestYAMLCorpus(t *testing.T) {
	t.Parallel()
	dir := yamlCorpusDir()
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("corpus absent: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	header := true
	seen := 0
	usedKnown := map[string]bool{}
	for sc.Scan() {
		if header {
			header = false
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 2 {
			continue
		}
		p, kind := cols[0], cols[1]
		if kind != "compose" && kind != "kubernetes" && kind != "templated" {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		seen++
		if _, ok := yamlCorpusKnown[p]; ok {
			usedKnown[p] = true
		}
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			name := path.Base(p)
			got := Classify(p, src)
			rwKind := got
			switch {
			case yamlCorpusKnown[p].reason != "":
				if got != yamlCorpusKnown[p].kind {
					t.Errorf("Classify = %q, want %q (%s)", got, yamlCorpusKnown[p].kind, yamlCorpusKnown[p].reason)
				}
			case kind == "templated" && !isYAMLName(name):
				return // Dockerfile templates belong to the Dockerfile tests
			case !Candidate(name):
				// No YAML extension (dependabot fixtures): scan never opens
				// these; the manifest tells their kind, so run that rewriter.
				if got != "" {
					t.Errorf("Classify = %q for a non-candidate name", got)
				}
				rwKind = Kind(kind)
			case kind == "templated":
				if got != Kubernetes && got != Compose {
					t.Errorf("Classify = %q, want kubernetes or compose for a YAML template", got)
				}
			default:
				if got != Kind(kind) {
					t.Errorf("Classify = %q, want %q", got, kind)
				}
			}
			ft := ForKind(rwKind)
			if ft == nil {
				return
			}
			res, _ := hCheck(t, []hFile{{p, src}}, Options{}, ft)
			refs, err := res[0].refs, res[0].err
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			for _, r := range refs {
				if kind == "templated" && r.Skip == "" && !yamlCorpusKnown[p].pinnable {
					t.Errorf("templated file yields a resolvable ref %d:%d %s %q", r.Line, r.Column, r.Context, r.Text)
				}
				if testing.Verbose() {
					t.Logf("%d:%d %s %q %s", r.Line, r.Column, r.Context, r.Text, r.Skip)
				}
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("MANIFEST.tsv lists no compose/kubernetes/templated files")
	}
	for p := range yamlCorpusKnown {
		if !usedKnown[p] {
			t.Errorf("yamlCorpusKnown lists %s, which the manifest does not", p)
		}
	}
}
