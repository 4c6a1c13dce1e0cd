package rewriters

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// crlfVariantKinds are the formats whose every golden case is also run with
// CRLF line ends: none of the real files they were written against has
// CRLF, so the variants are derived rather than stored.
var crlfVariantKinds = []Kind{GitHubActions, Kustomize, Devcontainer, Kubernetes}

// TestGoldenCRLFVariants runs each case of crlfVariantKinds with every
// input turned to CRLF: the same refs must be found at the same lines and
// columns, and pinning must give the LF pinning with CRLF kept.
func TestGoldenCRLFVariants(t *testing.T) {
	t.Parallel()
	for _, kind := range crlfVariantKinds {
		paths, err := filepath.Glob(filepath.Join("testdata", string(kind), "*.txtar"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no cases for %s: %v", kind, err)
		}
		for _, p := range paths {
			t.Run(string(kind)+"/"+strings.TrimSuffix(filepath.Base(p), ".txtar"), func(t *testing.T) {
				t.Parallel()
				c := hLoadCase(t, p)
				if slices.Contains(c.transform[""], "crlf") {
					t.Skip("stored as a CRLF case already")
				}
				files := c.files(t)
				crlf := make([]hFile, len(files))
				for i, f := range files {
					crlf[i] = hFile{path: f.path, data: bytes.ReplaceAll(f.data, []byte("\n"), []byte("\r\n"))}
				}
				res, pinned := hCheck(t, files, c.opts, nil)
				resCRLF, pinnedCRLF := hCheck(t, crlf, c.opts, nil)
				for i := range res {
					lf := hFormatRefs(res[i].path, res[i].format, res[i].refs, res[i].err)
					cr := hFormatRefs(resCRLF[i].path, resCRLF[i].format, resCRLF[i].refs, resCRLF[i].err)
					if lf != cr {
						t.Errorf("CRLF variant finds other refs\n--- CRLF\n%s--- LF\n%s", cr, lf)
					}
					if want := bytes.ReplaceAll(pinned[i].data, []byte("\n"), []byte("\r\n")); !bytes.Equal(pinnedCRLF[i].data, want) {
						t.Errorf("%s: CRLF variant pins differently\n--- CRLF\n%q\n--- LF+CR\n%q", res[i].path, pinnedCRLF[i].data, want)
					}
				}
			})
		}
	}
}
