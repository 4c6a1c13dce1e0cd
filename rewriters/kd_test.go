package rewriters

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestKustomizeDigestKey covers the shapes of an existing digest key that
// the golden cases do not: where an empty digest: is filled, and when fix
// must leave it (with a one-line reason) rather than break the YAML.
func TestKustomizeDigestKey(t *testing.T) {
	t.Parallel()
	d := hDigest
	for _, tt := range []struct {
		name, src, want, cannot string
	}{
		{"one blank before comment", "images:\n- name: a\n  newTag: v1\n  digest: # c\n", "images:\n- name: a\n  newTag: v1\n  digest: " + d + " # c\n", ""},
		{"tab before comment", "images:\n- name: a\n  newTag: v1\n  digest:\t# c\n", "images:\n- name: a\n  newTag: v1\n  digest: " + d + "\t# c\n", ""},
		{"end of file", "images:\n- name: a\n  newTag: v1\n  digest:", "images:\n- name: a\n  newTag: v1\n  digest: " + d, ""},
		{"crlf", "images:\r\n- name: a\r\n  digest:\r\n  newTag: v1\r\n", "images:\r\n- name: a\r\n  digest: " + d + "\r\n  newTag: v1\r\n", ""},
		{"quoted key", "images:\n- name: a\n  newTag: v1\n  \"digest\":\n", "images:\n- name: a\n  newTag: v1\n  \"digest\": " + d + "\n", ""},
		{"explicit null tag", "images:\n- name: a\n  newTag: v1\n  digest: !!null\n", "", "YAML tag !!null"},
		{"anchored null", "images:\n- name: a\n  newTag: v1\n  digest: &x\n", "", "could not be located"},
		{"flow key without colon", "images: [{name: a, newTag: v1, digest}]\n", "", "could not be located"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, pinned := hCheck(t, []hFile{{"kustomization.yaml", []byte(tt.src)}}, Options{}, nil)
			if res[0].err != nil || len(res[0].refs) != 1 {
				t.Fatalf("Find: %v, %d refs; want one ref", res[0].err, len(res[0].refs))
			}
			r := res[0].refs[0]
			if r.Text != "a:v1" {
				t.Errorf("Text = %q, want a:v1 (no digest yet)", r.Text)
			}
			_, err := r.Pin(d)
			if tt.cannot != "" {
				if err == nil || !strings.Contains(err.Error(), tt.cannot) {
					t.Fatalf("Pin: %v, want ErrCannotPin saying %q", err, tt.cannot)
				}
				return
			}
			if got := string(pinned[0].data); got != tt.want {
				t.Errorf("pinned:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

// kdFuzz fuzzes one file at path, which kind claims, seeded with every
// file of that kind's golden cases; the shared harness's invariants (byte
// fidelity, fix twice == fix once, one-line messages) must hold. A mutated
// archive in FuzzFormats rarely keeps a kustomization's or devcontainer's
// file name, so these reach the formats' own paths far more often.
func kdFuzz(f *testing.F, kind Kind, path string, candidate func(string) bool) {
	for _, p := range hCases(f) {
		if filepath.Base(filepath.Dir(p)) != string(kind) {
			continue
		}
		for _, in := range hLoadCase(f, p).files(f) {
			if candidate(in.path) {
				f.Add(in.data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		res, _ := hCheck(t, []hFile{{path, src}}, Options{}, nil)
		if res[0].format == nil || res[0].format.Kind() != kind {
			t.Fatalf("%s claimed by %v", path, res[0].format)
		}
	})
}

func FuzzKustomize(f *testing.F) {
	kdFuzz(f, Kustomize, "kustomization.yaml", kustomize{}.Candidate)
}

func FuzzDevcontainer(f *testing.F) {
	kdFuzz(f, Devcontainer, ".devcontainer/devcontainer.json", devcontainer{}.Candidate)
}
