// Package e2e runs the whole CLI in-process against a registry: the
// in-process one always, and the real CNCF distribution registry that CI
// starts (DIGESTBOT_E2E_REGISTRY), through the same code. Cases live in
// ../../fixtures as txtar files with golden output.
package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/digestbot/digestbot/internal/cli"
	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

var update = flag.Bool("update", false, "rewrite golden output in fixtures/")

// world is one test's registry, the digests it pushed (by placeholder) and
// a scratch folder.
type world struct {
	t    *testing.T
	reg  *testregistry.Registry
	root string
	// names maps a digest to its placeholder, e.g. "<node:20>".
	names map[string]string
	// digests maps a placeholder to its digest.
	digests map[string]string
	// tags maps REPO:TAG to the digest the tag points to now.
	tags map[string]string
	// env is the CLI's environment (GITHUB_OUTPUT…); empty by default.
	env map[string]string
	// terminal makes the CLI believe stderr is a terminal.
	terminal bool
}

func newWorld(t *testing.T, reg *testregistry.Registry) *world {
	root := filepath.Join(t.TempDir(), "repo")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, reg: reg, root: root, names: map[string]string{}, digests: map[string]string{}, tags: map[string]string{}}
}

func (w *world) name(placeholder, digest string) {
	w.names[digest] = placeholder
	w.digests[placeholder] = digest
}

// push runs one line of a case's registry section:
//
//	index REPO:TAG [PLATFORM...]   an OCI index (default linux/amd64 linux/arm64/v8)
//	list REPO:TAG [PLATFORM...]    a Docker manifest list
//	image REPO:TAG [PLATFORM]      a single-platform image
//	tag REPO:TAG REPO:OTHERTAG     point TAG at OTHERTAG's manifest
//	tag REPO:TAG LABEL             point TAG at the manifest pushed as=LABEL
//
// Any line may end in as=LABEL to name its placeholders <LABEL…>.
// REPO is the repository path on the registry ("library/node", "org/app").
// Placeholders: <REPO:TAG> for the top digest, <REPO:TAG PLATFORM> for a
// child manifest, <REPO:TAG PLATFORM config> for a child's config (image ID).
func (w *world) push(line string) {
	t := w.t
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("bad registry line %q", line)
	}
	repo, tag, ok := strings.Cut(f[1], ":")
	if !ok {
		t.Fatalf("bad registry line %q: want REPO:TAG", line)
	}
	label := short(f[1])
	// A trailing as=LABEL names this push's placeholders <LABEL…> instead,
	// so a tag pushed twice keeps both digests apart.
	if last := f[len(f)-1]; strings.HasPrefix(last, "as=") {
		label, f = strings.TrimPrefix(last, "as="), f[:len(f)-1]
	}
	switch f[0] {
	case "index", "list":
		var opts []testregistry.PushOpt
		if f[0] == "list" {
			opts = append(opts, testregistry.DockerMediaTypes())
		}
		idx := w.reg.PushIndexOpts(t, repo, tag, f[2:], opts...)
		w.name("<"+label+">", idx.Digest)
		w.tags[f[1]] = idx.Digest
		for _, c := range idx.Children {
			w.name("<"+label+" "+c.Platform+">", c.Digest)
			w.name("<"+label+" "+c.Platform+" config>", c.ConfigDigest)
		}
	case "image":
		var opts []testregistry.PushOpt
		if len(f) > 2 {
			opts = append(opts, testregistry.Platform(f[2]))
		}
		img := w.reg.PushImage(t, repo, tag, opts...)
		w.name("<"+label+">", img.Digest)
		w.name("<"+label+" config>", img.ConfigDigest)
		w.tags[f[1]] = img.Digest
	case "tag":
		d, ok := w.digests["<"+short(f[2])+">"]
		if !ok {
			t.Fatalf("bad registry line %q: %s was not pushed", line, f[2])
		}
		w.reg.Tag(t, repo, tag, d)
		w.tags[f[1]] = d
		w.digests["<"+label+">"] = d // the older name keeps the digest's display
	default:
		t.Fatalf("bad registry line %q", line)
	}
}

// short drops Docker Hub's library/ prefix from placeholders.
func short(repoTag string) string { return strings.TrimPrefix(repoTag, "library/") }

// expand replaces placeholders and HOST in case text.
func (w *world) expand(s string) string {
	s = strings.ReplaceAll(s, "HOST", w.reg.Host())
	return placeholderRe.ReplaceAllStringFunc(s, func(p string) string {
		if d, ok := w.digests[p]; ok {
			return d
		}
		// <hex:LABEL>: the digest's bare hex, as Helm charts' sha: keys hold it.
		if rest, ok := strings.CutPrefix(p, "<hex:"); ok {
			if d, ok := w.digests["<"+rest]; ok {
				return strings.TrimPrefix(d, "sha256:")
			}
		}
		return p
	})
}

var placeholderRe = regexp.MustCompile(`<[^<>\n]+>`)

// normalize replaces known digests, the registry host and the scratch root
// with stable names so golden files do not depend on the run.
func (w *world) normalize(s string) string {
	keys := make([]string, 0, len(w.names))
	for d := range w.names {
		keys = append(keys, d)
	}
	sort.Strings(keys)
	for _, d := range keys {
		s = strings.ReplaceAll(s, d, w.names[d])
		if len(d) > 19 {
			// Shortened digests in messages: sha256:123456789012.
			s = strings.ReplaceAll(s, d[:19], w.names[d]+"(short)")
		}
	}
	for _, d := range keys {
		// What is left of a digest written as bare hex (Helm sha: keys).
		if hex, ok := strings.CutPrefix(d, "sha256:"); ok {
			s = strings.ReplaceAll(s, hex, "<hex:"+strings.TrimPrefix(w.names[d], "<"))
		}
	}
	s = strings.ReplaceAll(s, w.reg.Host(), "HOST")
	s = strings.ReplaceAll(s, w.root, "$ROOT")
	// SARIF fingerprints hash refs, whose digests differ on every run.
	s = fingerprintRe.ReplaceAllString(s, `"digestbotRef/v1": "<fingerprint>"`)
	return s
}

var fingerprintRe = regexp.MustCompile(`"digestbotRef/v1": "[0-9a-f]+"`)

// defaultConfig sends every registry the fixtures name to the test registry.
const defaultConfig = `registries:
  docker.io: {host: HOST, tls: disabled}
  ghcr.io: {host: HOST, tls: disabled}
  quay.io: {host: HOST, tls: disabled}
  registry.example.com: {host: HOST, tls: disabled}
`

// run runs the CLI in-process; $ROOT in args is the scratch repository.
func (w *world) run(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "$ROOT", w.root)
	}
	env := cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv:           func(k string) string { return w.env[k] },
		StderrIsTerminal: w.terminal,
	}
	code = cli.Main(context.Background(), args, env)
	return out.String(), errb.String(), code
}

// readTree returns every regular file under root (relative, '/'-separated).
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestFixtures runs every fixtures/*.txtar case. A case's comment holds the
// command line (first line, `digestbot ARGS`) and the expected exit code
// (`exit N`). Sections: registry (pushes), in/… (the tree), want/… (the
// tree afterwards; files not listed must be unchanged), stdout, stderr.
func TestFixtures(t *testing.T) {
	paths, err := filepath.Glob("../../fixtures/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
				runFixture(t, path, newRegistry(t))
			})
		})
	}
}

func runFixture(t *testing.T, path string, reg *testregistry.Registry) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, reg)
	var args []string
	wantCode := 0
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "digestbot "):
			args = strings.Fields(strings.TrimPrefix(line, "digestbot "))
		case strings.HasPrefix(line, "exit "):
			wantCode, _ = strconv.Atoi(strings.TrimPrefix(line, "exit "))
		}
	}
	if args == nil {
		t.Fatalf("%s: no `digestbot ARGS` line in the comment", path)
	}
	sections := map[string]string{}
	var order []string
	for _, f := range ar.Files {
		sections[f.Name] = string(f.Data)
		order = append(order, f.Name)
	}
	for _, line := range strings.Split(sections["registry"], "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			w.push(line)
		}
	}
	in := map[string]string{}
	for name, data := range sections {
		if rel, ok := strings.CutPrefix(name, "in/"); ok {
			in[rel] = w.expand(data)
		}
	}
	if _, ok := in[".digestbot.yaml"]; !ok {
		in[".digestbot.yaml"] = w.expand(defaultConfig)
	}
	for rel, data := range in {
		p := filepath.Join(w.root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, code := w.run(args...)
	got := map[string]string{"stdout": w.normalize(stdout), "stderr": w.normalize(stderr)}
	after := readTree(t, w.root)
	for rel, data := range after {
		if _, ok := sections["want/"+rel]; ok || in[rel] != data {
			got["want/"+rel] = w.normalize(data)
		}
		if _, ok := in[rel]; !ok {
			t.Errorf("%s appeared in the tree", rel)
		}
	}
	for rel := range in {
		if _, ok := after[rel]; !ok {
			t.Errorf("%s disappeared from the tree", rel)
		}
	}
	if *update && !reg.Real() {
		rewriteFixture(t, path, ar, got, code, order)
		return
	}
	if code != wantCode {
		t.Errorf("exit code %d, want %d\nstderr:\n%s", code, wantCode, stderr)
	}
	for name, want := range sections {
		if name == "stdout" || name == "stderr" || strings.HasPrefix(name, "want/") {
			if got[name] != want {
				t.Errorf("%s:\n%s\nwant:\n%s", name, got[name], want)
			}
		}
	}
	for name, g := range got {
		if _, ok := sections[name]; !ok && (strings.HasPrefix(name, "want/") || g != "") {
			t.Errorf("%s is not in the fixture; got:\n%s", name, g)
		}
	}
	if reg.Real() {
		w.checkWithSkopeo(after)
	}
}

// checkWithSkopeo recomputes, with skopeo against the real registry, the
// digest of every tag whose digest the run wrote into a file.
func (w *world) checkWithSkopeo(after map[string]string) {
	for ref, d := range w.tags {
		written := false
		for _, data := range after {
			written = written || strings.Contains(data, d) || strings.Contains(data, strings.TrimPrefix(d, "sha256:"))
		}
		if !written {
			continue
		}
		if got := w.reg.SkopeoDigest(w.t, ref); got != d {
			w.t.Errorf("skopeo says %s is %s; digestbot wrote %s", ref, got, d)
		}
	}
}

func rewriteFixture(t *testing.T, path string, ar *txtar.Archive, got map[string]string, code int, order []string) {
	var comment []string
	for _, line := range strings.Split(strings.TrimRight(string(ar.Comment), "\n"), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "exit ") {
			comment = append(comment, line)
		}
	}
	comment = append(comment, fmt.Sprintf("exit %d", code))
	out := &txtar.Archive{Comment: []byte(strings.Join(comment, "\n") + "\n")}
	for _, f := range ar.Files {
		if f.Name == "registry" || strings.HasPrefix(f.Name, "in/") {
			out.Files = append(out.Files, f)
		}
	}
	var names []string
	for name, data := range got {
		if strings.HasPrefix(name, "want/") || data != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		out.Files = append(out.Files, txtar.File{Name: name, Data: []byte(got[name])})
	}
	if err := os.WriteFile(path, txtar.Format(out), 0o644); err != nil {
		t.Fatal(err)
	}
}
