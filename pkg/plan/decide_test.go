package plan

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digestbot/digestbot/pkg/diagnose"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/resolve"
	"github.com/digestbot/digestbot/pkg/scan"
	"github.com/digestbot/digestbot/rewriters"
)

func dg(c string) string { return "sha256:" + strings.Repeat(c, 64) }

// fakeResolver answers from a map and records what it was asked.
type fakeResolver struct {
	mu    sync.Mutex
	tags  map[string]string // registry/repository:tag → digest
	asked []resolve.Key
}

func (f *fakeResolver) Resolve(_ context.Context, keys []resolve.Key, _ func(int, int)) map[resolve.Key]resolve.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[resolve.Key]resolve.Result{}
	for _, k := range keys {
		f.asked = append(f.asked, k)
		if d, ok := f.tags[k.String()]; ok {
			out[k] = resolve.Result{Digest: d, IsIndex: true}
		} else {
			out[k] = resolve.Result{Err: errors.New(k.String() + ": tag not found")}
		}
	}
	return out
}

// file builds a scanned Dockerfile with the refs the dockerfile format
// finds in src (each carries its own edit), checking they are texts.
func file(t *testing.T, path, src string, texts ...string) *scan.File {
	t.Helper()
	f := &scan.File{Path: path, Kind: rewriters.Dockerfile, Src: []byte(src)}
	refs, err := rewriters.ForKind(rewriters.Dockerfile).Find(&rewriters.File{Path: path, Src: f.Src})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range refs {
		got = append(got, r.Text)
	}
	if strings.Join(got, "\n") != strings.Join(texts, "\n") {
		t.Fatalf("refs found = %q, want %q", got, texts)
	}
	f.Refs = refs
	return f
}

func TestRun(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{tags: map[string]string{
		"docker.io/library/node:20":      dg("1"),
		"docker.io/library/node:latest":  dg("2"),
		"docker.io/library/ubuntu:20.04": dg("3"),
		"ghcr.io/org/app:v1":             dg("4"),
	}}
	src := "FROM node:20\nFROM node\nFROM ubuntu:20.04@" + dg("9") + "\nFROM ghcr.io/org/app:v1@" + dg("4") +
		"\nFROM node@" + dg("5") + "\nFROM nope:1\nFROM node:20 AS again\nFROM ubuntu:20.04@sha256:abc\n"
	f := file(t, "Dockerfile", src, "node:20", "node", "ubuntu:20.04@"+dg("9"), "ghcr.io/org/app:v1@"+dg("4"),
		"node@"+dg("5"), "nope:1", "node:20", "ubuntu:20.04@sha256:abc")
	out, err := Decide(context.Background(), []*scan.File{f}, DecideOptions{Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fd := range out.Findings {
		got = append(got, string(fd.Status)+" "+fd.Ref+" "+finding.Deref(fd.Resolved))
	}
	want := []string{
		"unpinned node:20 " + dg("1"),
		"unpinned node " + dg("2"),
		"stale ubuntu:20.04@" + dg("9") + " " + dg("3"),
		"ok ghcr.io/org/app:v1@" + dg("4") + " " + dg("4"),
		"digest-only node@" + dg("5") + " ",
		"error nope:1 ",
		"unpinned node:20 " + dg("1"),
		"missing ubuntu:20.04@sha256:abc " + dg("3"),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// One lookup per unique tag; digest-only refs need none.
	if len(res.asked) != 5 {
		t.Errorf("asked %d keys, want 5: %v", len(res.asked), res.asked)
	}
	if len(out.Files) != 1 {
		t.Fatalf("files changed = %d", len(out.Files))
	}
	wantSrc := "FROM node:20@" + dg("1") + "\nFROM node:latest@" + dg("2") + "\nFROM ubuntu:20.04@" + dg("3") +
		"\nFROM ghcr.io/org/app:v1@" + dg("4") + "\nFROM node@" + dg("5") + "\nFROM nope:1\nFROM node:20@" + dg("1") +
		" AS again\nFROM ubuntu:20.04@" + dg("3") + "\n"
	if got := string(out.Files[0].New); got != wantSrc {
		t.Errorf("new content:\n%s\nwant:\n%s", got, wantSrc)
	}
	if n := len(out.Files[0].Changes); n != 5 {
		t.Errorf("changes = %d, want 5", n)
	}
	if string(f.Src) != src {
		t.Error("Run modified the scanned source")
	}

	// Fixing the fixed output changes nothing more.
	f2 := file(t, "Dockerfile", wantSrc, "node:20@"+dg("1"), "node:latest@"+dg("2"), "ubuntu:20.04@"+dg("3"),
		"ghcr.io/org/app:v1@"+dg("4"), "node@"+dg("5"), "nope:1", "node:20@"+dg("1"), "ubuntu:20.04@"+dg("3"))
	out2, err := Decide(context.Background(), []*scan.File{f2}, DecideOptions{Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	if len(out2.Files) != 0 {
		t.Errorf("second run changes files: %s", out2.Files[0].New)
	}
}

type fakeDiagnoser struct{ calls int }

func (d *fakeDiagnoser) DescribeDigest(context.Context, resolve.Key, string) diagnose.Diagnosis {
	return diagnose.Diagnosis{}
}

func (d *fakeDiagnoser) Diagnose(_ context.Context, k resolve.Key, cur resolve.Result, pinned string) diagnose.Diagnosis {
	d.calls++
	return diagnose.Diagnosis{Status: finding.Mismatch, Message: k.Repository + " is pinned to another tag"}
}

func TestRunDiagnoserOncePerPair(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{tags: map[string]string{"docker.io/library/ubuntu:20.04": dg("3")}}
	ref := "ubuntu:20.04@" + dg("9")
	f := file(t, "Dockerfile", "FROM "+ref+"\nFROM "+ref+"\n", ref, ref)
	d := &fakeDiagnoser{}
	out, err := Decide(context.Background(), []*scan.File{f}, DecideOptions{Resolver: res, Diagnoser: d})
	if err != nil {
		t.Fatal(err)
	}
	if d.calls != 1 {
		t.Errorf("diagnoser called %d times, want 1", d.calls)
	}
	if out.Findings[0].Status != finding.Mismatch || len(out.Files) != 1 || len(out.Files[0].Changes) != 2 {
		t.Errorf("findings %+v files %d", out.Findings, len(out.Files))
	}
}

// scriptedDiagnoser answers per pinned digest.
type scriptedDiagnoser map[string]diagnose.Diagnosis

func (s scriptedDiagnoser) DescribeDigest(context.Context, resolve.Key, string) diagnose.Diagnosis {
	return diagnose.Diagnosis{}
}

func (s scriptedDiagnoser) Diagnose(_ context.Context, _ resolve.Key, _ resolve.Result, pinned string) diagnose.Diagnosis {
	return s[pinned]
}

// TestRunDiagnosisOKAndFix: a diagnosis may say ok (pins.platform: keep
// keeps a current platform pin: no change, no exit 1), and may name the
// digest fix writes instead of the tag's current one.
func TestRunDiagnosisOKAndFix(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{tags: map[string]string{"docker.io/library/node:20": dg("1")}}
	kept, old := "node:20@"+dg("a"), "node:20@"+dg("b")
	d := scriptedDiagnoser{
		dg("a"): {Status: finding.OK, Message: "pinned to the linux/arm64 image of node:20's current index"},
		dg("b"): {Status: finding.Stale, Message: "outdated linux/arm64 image", Fix: dg("c")},
	}
	f := file(t, "Dockerfile", "FROM "+kept+"\nFROM "+old+"\n", kept, old)
	out, err := Decide(context.Background(), []*scan.File{f}, DecideOptions{Resolver: res, Diagnoser: d})
	if err != nil {
		t.Fatal(err)
	}
	if s := out.Findings[0].Status; s != finding.OK || s.NeedsAction() {
		t.Errorf("kept platform pin: %s", s)
	}
	if out.Findings[0].Message == "" || finding.Deref(out.Findings[0].Resolved) != dg("1") {
		t.Errorf("finding %+v", out.Findings[0])
	}
	if len(out.Files) != 1 || len(out.Files[0].Changes) != 1 {
		t.Fatalf("files %+v", out.Files)
	}
	c := out.Files[0].Changes[0]
	if c.NewDigest != dg("c") || c.Why() != "refresh" || c.Line != 2 {
		t.Errorf("change %+v", c)
	}
	if want := "FROM " + kept + "\nFROM node:20@" + dg("c") + "\n"; string(out.Files[0].New) != want {
		t.Errorf("new content %q, want %q", out.Files[0].New, want)
	}
}

// slowDiagnoser records how many diagnoses run at once.
type slowDiagnoser struct {
	mu         sync.Mutex
	now, peak  int
	calls      map[string]int
	releaseAll chan struct{}
}

func (s *slowDiagnoser) enter(key string) {
	s.mu.Lock()
	s.now++
	s.peak = max(s.peak, s.now)
	s.calls[key]++
	if s.now == 4 {
		close(s.releaseAll)
	}
	s.mu.Unlock()
	select {
	case <-s.releaseAll:
	case <-time.After(2 * time.Second):
	}
	s.mu.Lock()
	s.now--
	s.mu.Unlock()
}

func (s *slowDiagnoser) Diagnose(_ context.Context, k resolve.Key, _ resolve.Result, pinned string) diagnose.Diagnosis {
	s.enter(k.String() + "@" + pinned)
	return diagnose.Diagnosis{Status: finding.Stale, Message: "moved on"}
}

func (s *slowDiagnoser) DescribeDigest(_ context.Context, k resolve.Key, d string) diagnose.Diagnosis {
	s.enter(k.Registry + "/" + k.Repository + "@" + d)
	return diagnose.Diagnosis{Status: finding.DigestOnly, Message: "digest only: described"}
}

// TestRunDiagnosesConcurrently: pins that differ are diagnosed
// concurrently, once per (tag, digest) pair, before verdicts are decided.
func TestRunDiagnosesConcurrently(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{tags: map[string]string{"docker.io/library/a:1": dg("1"), "docker.io/library/b:1": dg("2"), "docker.io/library/c:1": dg("3")}}
	refs := []string{"a:1@" + dg("a"), "b:1@" + dg("b"), "c:1@" + dg("c"), "a@" + dg("d"), "a:1@" + dg("a")}
	src := ""
	for _, r := range refs {
		src += "FROM " + r + "\n"
	}
	f := file(t, "Dockerfile", src, refs...)
	d := &slowDiagnoser{calls: map[string]int{}, releaseAll: make(chan struct{})}
	start := time.Now()
	out, err := Decide(context.Background(), []*scan.File{f}, DecideOptions{Resolver: res, Diagnoser: d})
	if err != nil {
		t.Fatal(err)
	}
	if d.peak != 4 || time.Since(start) > time.Second {
		t.Errorf("peak concurrency %d (want 4), took %s", d.peak, time.Since(start))
	}
	for k, n := range d.calls {
		if n != 1 {
			t.Errorf("%s diagnosed %d times", k, n)
		}
	}
	if out.Findings[3].Message != "digest only: described" || out.Findings[4].Status != finding.Stale {
		t.Errorf("findings %+v", out.Findings)
	}
}
