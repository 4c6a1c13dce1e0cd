package rewriters

// Tests of the CI formats beyond their golden cases (TestGolden runs
// testdata/<kind>/*.txtar for them as for every format): every case again
// with CRLF line endings, and one fuzz target per format.

import (
	"bytes"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ciFormats are the CI formats, each with its testdata folder.
var ciFormats = []Format{circleciFormat{}, cloudbuildFormat{}, bitbucketFormat{}, droneFormat{}, woodpeckerFormat{}, azureFormat{}, bakeFormat{}}

func ciCasePaths(t testing.TB, kind Kind) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", string(kind), "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden cases in testdata/%s (%v)", kind, err)
	}
	return paths
}

// TestCIFormatsCRLF runs every LF case of the CI formats with CRLF line
// endings: the refs (lines, columns, contexts, skips) must be the same and
// the pinned output the CRLF form of the LF one.
func TestCIFormatsCRLF(t *testing.T) {
	t.Parallel()
	for _, ft := range ciFormats {
		for _, p := range ciCasePaths(t, ft.Kind()) {
			c := hLoadCase(t, p)
			if slices.Contains(c.transform[""], "crlf") {
				continue
			}
			t.Run(string(ft.Kind())+"/"+strings.TrimSuffix(filepath.Base(p), ".txtar"), func(t *testing.T) {
				t.Parallel()
				lf := c.files(t)
				crlf := make([]hFile, len(lf))
				for i, f := range lf {
					if bytes.Contains(f.data, []byte("\r")) {
						t.Skip("input already holds CR")
					}
					crlf[i] = hFile{path: f.path, data: bytes.ReplaceAll(f.data, []byte("\n"), []byte("\r\n"))}
				}
				lres, lpinned := hCheck(t, lf, c.opts, nil)
				cres, cpinned := hCheck(t, crlf, c.opts, nil)
				for i := range lres {
					l := hFormatRefs(lres[i].path, lres[i].format, lres[i].refs, lres[i].err)
					cr := hFormatRefs(cres[i].path, cres[i].format, cres[i].refs, cres[i].err)
					if l != cr {
						t.Errorf("%s: refs differ with CRLF\n--- crlf\n%s--- lf\n%s", lres[i].path, cr, l)
					}
					if want := bytes.ReplaceAll(lpinned[i].data, []byte("\n"), []byte("\r\n")); !bytes.Equal(cpinned[i].data, want) {
						t.Errorf("%s: pinned CRLF output is not the CRLF form of the LF output:\n%q", lres[i].path, cpinned[i].data)
					}
				}
			})
		}
	}
}

// ciFuzz fuzzes one format on its own, under each path its cases use (the
// path picks YAML, JSON or HCL), seeded with the cases' inputs.
func ciFuzz(f *testing.F, ft Format) {
	var names []string
	for _, p := range ciCasePaths(f, ft.Kind()) {
		for _, in := range hLoadCase(f, p).files(f) {
			i := slices.Index(names, in.path)
			if i < 0 {
				i = len(names)
				names = append(names, in.path)
			}
			f.Add(in.data, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte, which uint8) {
		hCheck(t, []hFile{{names[int(which)%len(names)], src}}, Options{}, ft)
	})
}

func FuzzCircleCI(f *testing.F)   { ciFuzz(f, circleciFormat{}) }
func FuzzCloudBuild(f *testing.F) { ciFuzz(f, cloudbuildFormat{}) }
func FuzzBitbucket(f *testing.F)  { ciFuzz(f, bitbucketFormat{}) }
func FuzzDrone(f *testing.F)      { ciFuzz(f, droneFormat{}) }
func FuzzWoodpecker(f *testing.F) { ciFuzz(f, woodpeckerFormat{}) }
func FuzzAzure(f *testing.F)      { ciFuzz(f, azureFormat{}) }
func FuzzBake(f *testing.F)       { ciFuzz(f, bakeFormat{}) }

// TestCIFormatsHostile feeds alias bombs and deep nesting to the CI
// formats: each must return with no panic, and a ParseError or the few
// refs the input really has.
func TestCIFormatsHostile(t *testing.T) {
	t.Parallel()
	bomb := func(leaf, top string) string {
		var b strings.Builder
		b.WriteString("x0: &a0 " + leaf + "\n")
		for i := 1; i < 40; i++ {
			b.WriteString("x" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [")
			for j := 0; j < 10; j++ {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString("*a" + strconv.Itoa(i-1))
			}
			b.WriteString("]\n")
		}
		return b.String() + top
	}
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	tests := []struct {
		name, path string
		ft         Format
		src        string
		refs       int
		parseErr   bool
	}{
		{"bitbucket alias bomb", "bitbucket-pipelines.yml", bitbucketFormat{}, bomb("{step: {image: lol:1}}", "pipelines:\n  default: *a39\n"), 1, false},
		// Lists of lists are not job lists: nothing to find, quickly.
		{"azure alias bomb", "azure-pipelines.yml", azureFormat{}, bomb("{job: a, container: lol:1}", "jobs: *a39\n"), 0, false},
		{"drone alias bomb", ".drone.yml", droneFormat{}, bomb("{image: lol:1}", "steps: *a39\n"), 0, false},
		{"azure nested directives", "azure-pipelines.yml", azureFormat{}, "jobs:\n" + strings.Repeat("- ${{ if true }}:\n", 1) + strings.Repeat("  ", 1) + "- job: a\n    container: lol:1\n", 1, false},
		{"bitbucket deep", "bitbucket-pipelines.yml", bitbucketFormat{}, "pipelines: " + deep + "\n", 0, true},
		{"cloudbuild json deep", "cloudbuild.json", cloudbuildFormat{}, `{"steps": ` + deep + "}", 0, true},
		{"bake json deep", "docker-bake.json", bakeFormat{}, `{"target": ` + deep + "}", 0, true},
		{"bake hcl deep", "docker-bake.hcl", bakeFormat{}, "target \"a\" {\n  contexts = " + strings.Repeat("{a = ", 5000) + "1" + strings.Repeat("}", 5000) + "\n}\n", 0, true},
		{"bake hcl deep parens", "docker-bake.hcl", bakeFormat{}, "x = " + strings.Repeat("(", 100000) + "\n", 0, true},
		{"bake many contexts", "docker-bake.hcl", bakeFormat{}, "target \"a\" {\n  contexts = {\n" + strings.Repeat("    a = \"docker-image://alpine:3\"\n", 1) + "  }\n}\n", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, _ := hCheck(t, []hFile{{tt.path, []byte(tt.src)}}, Options{}, tt.ft)
			if len(res[0].refs) != tt.refs || (res[0].err != nil) != tt.parseErr {
				t.Errorf("got %d refs, err %v; want %d refs, parse error %v", len(res[0].refs), res[0].err, tt.refs, tt.parseErr)
			}
		})
	}
}
