package rewriters

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorpusNextCIFormats runs the CI formats over every circleci,
// cloudbuild, bake-hcl and bake-json file of corpus-next (skipped when the
// corpus is absent) and compares the refs found with MANIFEST.tsv's hand
// count. found counts every ref reported, skipped ones included; skipped
// counts those reported as skipped. Every difference from the hand count is
// explained in why. Corpus files keep their repository's names
// (testdata/circleci.yml), not the paths the formats claim, so each is read
// under the path it would have in a repository (as), and the invariants of
// the shared harness are checked on it.
func TestCorpusNextCIFormats(t *testing.T) {
	t.Parallel()
	manifest := corpusNextManifest(t)
	rows := []struct {
		path        string
		as          string // the path the file is read under
		ft          Format
		hand, found int
		skipped     int
		refs        []string // the refs found, in order
		why         string
	}{
		{path: "sethvargo__ratchet/testdata/circleci.yml", as: ".circleci/config.yml", ft: circleciFormat{}, hand: 3, found: 3,
			refs: []string{"cimg/base:2022.05-22.04", "cimg/base:2022.05-22.04", "ubuntu:20.04"},
			why:  "same count: the executor's and the job's primary image, and the job's secondary; orbs are orb references. The file sits in ratchet's testdata, not in .circleci/, so a scan of that repository does not read it"},
		{path: "sethvargo__ratchet/testdata/cloudbuild.yml", as: "cloudbuild.yml", ft: cloudbuildFormat{}, hand: 1, found: 1,
			refs: []string{"ubuntu:20.04"},
			why:  "same count: the 'name: foo' args item is a string, not a key. Read under cloudbuild.yml, as in ratchet's testdata it is not a Cloud Build path"},
		{path: "requirecloud__frankenphp/docker-bake.hcl", as: "docker-bake.hcl", ft: bakeFormat{}, hand: 2, found: 2,
			refs: []string{"dunglas/frankenphp:1.12.6-php8.4.23", "dunglas/frankenphp:1.12.6-php8.5.8"},
			why:  "same count: the two docker-image:// contexts; tags are outputs"},
		{path: "moby__buildkit/docker-bake.hcl", as: "docker-bake.hcl", ft: bakeFormat{}, hand: 0, found: 0,
			why: "same count: contexts are variables and conditionals with no docker-image:// string; tags and outputs are not refs"},
		{path: "dependabot__dependabot-core/docker-bake.hcl", as: "docker-bake.hcl", ft: bakeFormat{}, hand: 0, found: 0,
			why: "same count: contexts = merge(...) holds only target: values under computed keys; image = \"bazel\" in variables and cache-from refs are not contexts"},
		{path: "nebari-dev__nebari-docker-images/docker-bake.json", as: "docker-bake.json", ft: bakeFormat{}, hand: 0, found: 0,
			why: "same count: only output tags"},
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
		switch m.format {
		case "circleci", "cloudbuild", "bake-hcl", "bake-json":
			if !covered[p] {
				t.Errorf("%s (%s) is in MANIFEST.tsv but not in the table", p, m.format)
			}
		}
	}
	for _, row := range rows {
		t.Run(row.path, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join(corpusNextDir, filepath.FromSlash(row.path)))
			if err != nil {
				t.Fatal(err)
			}
			if got := Classify(row.as, src); got != row.ft.Kind() {
				t.Errorf("Classify(%q) = %q, want %q", row.as, got, row.ft.Kind())
			}
			res, _ := hCheck(t, []hFile{{row.as, src}}, Options{}, row.ft)
			if res[0].err != nil {
				t.Fatalf("Find: %v", res[0].err)
			}
			var texts []string
			skipped := 0
			for _, r := range res[0].refs {
				texts = append(texts, r.Text)
				if r.Skip != "" {
					skipped++
				}
			}
			if len(texts) != row.found || skipped != row.skipped {
				t.Errorf("found %d refs (%d skipped), the table says %d (%d skipped):\n%s", len(texts), skipped, row.found, row.skipped,
					hFormatRefs(row.as, row.ft, res[0].refs, nil))
			}
			if row.refs != nil && strings.Join(texts, " ") != strings.Join(row.refs, " ") {
				t.Errorf("refs %q, want %q", texts, row.refs)
			}
		})
	}
}
