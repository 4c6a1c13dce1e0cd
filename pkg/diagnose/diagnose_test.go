package diagnose_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/diagnose"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/internal/testregistry"
	"github.com/digestbot/digestbot/pkg/resolve"
)

// env is one test's registry, resolver and diagnoser.
type env struct {
	t   testing.TB
	reg *testregistry.Registry
	cfg *config.Config
	res *resolve.Resolver
	d   *diagnose.Diagnoser
}

func newEnv(t testing.TB, reg *testregistry.Registry, mut func(*config.Config)) *env {
	t.Helper()
	cfg := config.Default()
	cfg.Registries = map[string]config.Registry{reg.Host(): {TLS: config.TLSDisabled}}
	if mut != nil {
		mut(cfg)
	}
	res, err := resolve.New(cfg, resolve.WithDockerConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Close() })
	return &env{t: t, reg: reg, cfg: cfg, res: res, d: diagnose.New(res, cfg, diagnose.WithRetry(1, 0))}
}

func (e *env) key(repo, tag string) resolve.Key {
	return resolve.Key{Registry: e.reg.Host(), Repository: repo, Tag: tag}
}

// diagnose resolves repo:tag, resets the request counts, and diagnoses
// pinned against it.
func (e *env) diagnose(repo, tag, pinned string) diagnose.Diagnosis {
	e.t.Helper()
	k := e.key(repo, tag)
	cur := e.res.Resolve(context.Background(), []resolve.Key{k}, nil)[k]
	if cur.Err != nil {
		e.t.Fatal(cur.Err)
	}
	e.reg.ResetCounts()
	return e.d.Diagnose(context.Background(), k, cur, pinned)
}

// name is how messages write repo:tag of the test registry.
func (e *env) name(repoTag string) string { return e.reg.Host() + "/" + repoTag }

func want(t testing.TB, got diagnose.Diagnosis, status finding.Status, fix string, contains ...string) {
	t.Helper()
	if got.Status != status {
		t.Errorf("status %s, want %s; message: %s", got.Status, status, got.Message)
	}
	if got.Fix != fix {
		t.Errorf("fix %q, want %q", got.Fix, fix)
	}
	for _, c := range contains {
		if !strings.Contains(got.Message, c) {
			t.Errorf("message %q does not contain %q", got.Message, c)
		}
	}
}

// requests summarises counts: manifest HEADs, manifest GETs, blob
// requests, tag list requests.
func requests(c testregistry.Counts) string {
	heads := 0
	for _, n := range c.ManifestHead {
		heads += n
	}
	lists := 0
	for _, n := range c.TagsList {
		lists += n
	}
	return fmt.Sprintf("heads=%d gets=%d blobs=%d lists=%d other=%d", heads, c.Gets(), c.Blobs, lists, c.Other)
}

func wantRequests(t testing.TB, reg *testregistry.Registry, w string) {
	t.Helper()
	if got := requests(reg.Counts()); got != w {
		t.Errorf("requests: %s, want %s", got, w)
	}
}

func TestPlatform(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		idx := reg.PushIndex(t, "library/node", "20", "linux/amd64", "linux/arm64/v8")
		e := newEnv(t, reg, nil)
		got := e.diagnose("library/node", "20", idx.Children[1].Digest)
		want(t, got, finding.Platform, "", "linux/arm64 image inside "+e.name("library/node:20")+"'s index", "the fix is the index digest "+idx.Digest[:19])
		// A platform pin costs one HEAD (of the pin) and one GET (of the index).
		wantRequests(t, reg, "heads=1 gets=1 blobs=0 lists=0 other=0")

		// The same pin again is free; another child of the same index costs its HEAD only.
		reg.ResetCounts()
		k := e.key("library/node", "20")
		cur := resolve.Result{Digest: idx.Digest, IsIndex: true}
		got = e.d.Diagnose(context.Background(), k, cur, idx.Children[0].Digest)
		want(t, got, finding.Platform, "", "linux/amd64 image")
		wantRequests(t, reg, "heads=1 gets=0 blobs=0 lists=0 other=0")
	})
}

func TestPlatformKeep(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		old := reg.PushIndex(t, "library/node", "20")
		cur := reg.PushIndex(t, "library/node", "20")
		e := newEnv(t, reg, func(c *config.Config) { c.Pins.Platform = "keep" })
		want(t, e.diagnose("library/node", "20", cur.Children[1].Digest), finding.OK, "", "linux/arm64 image of", "pins.platform is keep")
		// An outdated arm64 image is refreshed to the current arm64 image.
		want(t, e.diagnose("library/node", "20", old.Children[1].Digest), finding.Stale, cur.Children[1].Digest,
			"the pinned linux/arm64 image is outdated", "current linux/arm64 image "+cur.Children[1].Digest[:19])
		// An arm64 image whose platform the current index dropped: the index.
		amd := reg.PushIndex(t, "library/node", "20", "linux/amd64")
		k := e.key("library/node", "20")
		got := e.d.Diagnose(context.Background(), k, resolve.Result{Digest: amd.Digest, IsIndex: true}, old.Children[1].Digest)
		want(t, got, finding.Platform, "", "current index has no linux/arm64 image")
	})
}

func TestOutdatedPlatformPin(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	old := reg.PushIndex(t, "library/node", "20")
	reg.PushIndex(t, "library/node", "20")
	e := newEnv(t, reg, nil)
	got := e.diagnose("library/node", "20", old.Children[1].Digest)
	want(t, got, finding.Platform, "", "outdated linux/arm64 image of "+e.name("library/node:20"), "not to its index")
}

// TestMismatchClassic: ubuntu:20.04 pinned to the digest of ubuntu:16.04,
// found by the tag search, nearest versions first.
func TestMismatchClassic(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		tags := map[string]testregistry.Index{}
		for _, tag := range []string{"14.04", "16.04", "18.04", "20.04", "22.04"} {
			tags[tag] = reg.PushIndex(t, "library/ubuntu", tag)
		}
		reg.Tag(t, "library/ubuntu", "latest", tags["22.04"].Digest)
		e := newEnv(t, reg, nil)
		got := e.diagnose("library/ubuntu", "20.04", tags["16.04"].Digest)
		want(t, got, finding.Mismatch, "", e.name("library/ubuntu:20.04")+" is pinned to the digest of "+e.name("library/ubuntu:16.04"))
		// HEAD of the pin, GET of it, one child and its config (labels),
		// the tag list, then the 5 other tags in one batch (18.04, 22.04,
		// 16.04, 14.04, latest).
		wantRequests(t, reg, "heads=6 gets=2 blobs=1 lists=1 other=0")
		c := reg.Counts()
		if c.ManifestHead["library/ubuntu:20.04"] != 0 {
			t.Errorf("the written tag was looked up again: %v", c.ManifestHead)
		}
		if s := e.d.Stats(); s.TagHeads != 5 || s.TagLists != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestMismatchByVersionLabel(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		for i := range 30 {
			reg.PushIndex(t, "org/app", fmt.Sprintf("1.%d", i))
		}
		labelled := reg.PushIndexOpts(t, "org/app", "0.9", nil, testregistry.Version("0.9"))
		reg.PushIndex(t, "org/app", "2.0")
		e := newEnv(t, reg, nil)
		got := e.diagnose("org/app", "2.0", labelled.Digest)
		want(t, got, finding.Mismatch, "", "is pinned to the digest of "+e.name("org/app:0.9"))
		// The version annotation names the tag: one tag HEAD, not 31.
		if s := e.d.Stats(); s.TagHeads != 1 {
			t.Errorf("tag HEADs %d, want 1", s.TagHeads)
		}
		// The index carries the version annotation: no child or config read.
		wantRequests(t, reg, "heads=2 gets=1 blobs=0 lists=1 other=0")

		// The labelled tag moved on: the label alone is evidence.
		reg.PushIndex(t, "org/app", "0.9")
		e2 := newEnv(t, reg, nil)
		got = e2.diagnose("org/app", "2.0", labelled.Digest)
		want(t, got, finding.Mismatch, "", "whose org.opencontainers.image.version annotation says 0.9, not 2.0")
	})
}

func TestMismatchLabelOnChildConfig(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	// Labels only on the images' configs, as `docker build --label` does.
	img := reg.PushIndexOpts(t, "org/app", "1.0", nil, testregistry.Labels(map[string]string{"org.opencontainers.image.version": "1.0"}))
	reg.PushIndex(t, "org/app", "3.0")
	e := newEnv(t, reg, nil)
	want(t, e.diagnose("org/app", "3.0", img.Digest), finding.Mismatch, "", "pinned to the digest of "+e.name("org/app:1.0"))
	// GET index, GET amd64 child, GET its config; one tag HEAD.
	wantRequests(t, reg, "heads=2 gets=2 blobs=1 lists=1 other=0")
}

func TestStaleCompatibleTag(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	old := reg.PushIndex(t, "library/node", "20")
	reg.Tag(t, "library/node", "20.11.0", old.Digest)
	reg.PushIndex(t, "library/node", "20")
	e := newEnv(t, reg, nil)
	want(t, e.diagnose("library/node", "20", old.Digest), finding.Stale, "",
		"the pinned digest is what "+e.name("library/node:20.11.0")+" points to now, an older "+e.name("library/node:20"))
}

func TestSearchBound(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		old := reg.PushIndex(t, "org/app", "5.0")
		reg.PushIndex(t, "org/app", "5.0")
		for i := range 20 {
			reg.PushIndex(t, "org/app", fmt.Sprintf("4.%d", i))
		}
		e := newEnv(t, reg, func(c *config.Config) { c.Pins.TagSearch = 11 })
		got := e.diagnose("org/app", "5.0", old.Digest)
		want(t, got, finding.Stale, "", "no other tag among the 11 searched points to it; pins.tag-search is 11, so 9 more were not searched")
		if s := e.d.Stats(); s.TagHeads != 11 {
			t.Errorf("tag HEADs %d, want 11", s.TagHeads)
		}

		// Off: no tag list, no tag HEAD.
		e = newEnv(t, reg, func(c *config.Config) { c.Pins.TagSearch = -1 })
		got = e.diagnose("org/app", "5.0", old.Digest)
		want(t, got, finding.Stale, "", "tag search is off (pins.tag-search: -1)")
		if c := reg.Counts(); len(c.TagsList) != 0 {
			t.Errorf("tag list read with the search off: %v", c.TagsList)
		}
	})
}

// TestSearchMemo: pins of one repository share the tag list and the tag
// lookups.
func TestSearchMemo(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	a := reg.PushIndex(t, "org/app", "1.0")
	reg.PushIndex(t, "org/app", "1.0")
	b := reg.PushIndex(t, "org/app", "2.0")
	reg.PushIndex(t, "org/app", "2.0")
	for i := range 5 {
		reg.PushIndex(t, "org/app", fmt.Sprintf("0.%d", i))
	}
	e := newEnv(t, reg, nil)
	k1, k2 := e.key("org/app", "1.0"), e.key("org/app", "2.0")
	res := e.res.Resolve(context.Background(), []resolve.Key{k1, k2}, nil)
	reg.ResetCounts()
	want(t, e.d.Diagnose(context.Background(), k1, res[k1], a.Digest), finding.Stale, "", "no other tag among the 6 searched")
	// 0.0–0.4 and 2.0; 1.0 is known from the resolver.
	if s := e.d.Stats(); s.TagHeads != 6 {
		t.Errorf("tag HEADs %d, want 6", s.TagHeads)
	}
	want(t, e.d.Diagnose(context.Background(), k2, res[k2], b.Digest), finding.Stale, "", "no other tag among the 6 searched")
	c := reg.Counts()
	if c.TagsList["org/app"] != 1 {
		t.Errorf("tag list read %d times, want 1", c.TagsList["org/app"])
	}
	// The second search is answered from the first one's lookups.
	if s := e.d.Stats(); s.TagHeads != 6 {
		t.Errorf("tag HEADs %d, want 6", s.TagHeads)
	}
}

func TestMissing(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		reg.PushIndex(t, "library/ubuntu", "20.04")
		e := newEnv(t, reg, nil)
		got := e.diagnose("library/ubuntu", "20.04", "sha256:"+strings.Repeat("0", 64))
		want(t, got, finding.Missing, "", "sha256:000000000000 does not exist in "+e.reg.Host()+"/library/ubuntu: pulls fail")
		// HEAD of the manifest, HEAD of the blob.
		wantRequests(t, reg, "heads=1 gets=0 blobs=1 lists=0 other=0")
	})
}

func TestImageID(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		old := reg.PushIndex(t, "library/node", "20")
		idx := reg.PushIndex(t, "library/node", "20")
		single := reg.PushImage(t, "org/tool", "1", testregistry.Platform("linux/arm64/v8"))
		e := newEnv(t, reg, nil)

		got := e.diagnose("library/node", "20", idx.Children[1].ConfigDigest)
		want(t, got, finding.ImageID, "", "is the image ID of "+e.name("library/node:20")+"'s linux/arm64 image",
			"what `docker images` shows as IMAGE ID", "the right digest is the index "+idx.Digest[:19], idx.Children[1].Digest[:19]+" for linux/arm64 alone")
		if !reg.Real() {
			// HEAD manifest (404), HEAD blob, GET blob, GET index, GET the arm64 child.
			wantRequests(t, reg, "heads=1 gets=2 blobs=2 lists=0 other=0")
		}

		got = e.diagnose("library/node", "20", old.Children[0].ConfigDigest)
		want(t, got, finding.ImageID, "", "image ID of an older linux/amd64 image", "the right digest is "+e.name("library/node:20")+"'s current digest "+idx.Digest[:19])

		got = e.diagnose("org/tool", "1", single.ConfigDigest)
		want(t, got, finding.ImageID, "", "image ID of "+e.name("org/tool:1")+", a linux/arm64 image", "the right digest is "+single.Digest[:19])
	})
}

func TestStaleOnFailures(t *testing.T) {
	t.Parallel()
	// The tag list fails: the pin is stale, and the message says why the
	// search could not run.
	failList := testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/tags/list") {
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	reg := testregistry.New(t, failList)
	old := reg.PushIndex(t, "org/app", "1.0")
	reg.PushIndex(t, "org/app", "1.0")
	e := newEnv(t, reg, nil)
	want(t, e.diagnose("org/app", "1.0", old.Digest), finding.Stale, "", "its tags could not be listed: HTTP 500")

	// The run's deadline passed: stale, with a note, no crash.
	k := e.key("org/app", "1.0")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := e.d.Diagnose(ctx, k, resolve.Result{Digest: old.Digest, IsIndex: true}, "sha256:"+strings.Repeat("1", 64))
	want(t, got, finding.Stale, "", "the run's deadline passed")

	// A hanging registry: each request has its own deadline.
	hang := testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/sha256:") {
				<-r.Context().Done()
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	reg2 := testregistry.New(t, hang)
	reg2.PushIndex(t, "org/app", "1.0")
	e2 := newEnv(t, reg2, nil)
	e2.d = diagnose.New(e2.res, e2.cfg, diagnose.WithRequestTimeout(200*time.Millisecond), diagnose.WithRetry(1, 0))
	start := time.Now()
	got = e2.diagnose("org/app", "1.0", "sha256:"+strings.Repeat("2", 64))
	want(t, got, finding.Stale, "", "could not look the pinned digest up: the registry did not answer in time")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestDescribeDigest(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		old := reg.PushIndex(t, "library/node", "20")
		cur := reg.PushIndex(t, "library/node", "20")
		reg.PushIndex(t, "library/node", "22")
		e := newEnv(t, reg, nil)
		ctx := context.Background()
		h := reg.Host()
		if got, w := e.d.DescribeDigest(ctx, resolve.Key{Registry: h, Repository: "library/node"}, cur.Digest).Message, "digest only: "+e.name("library/node:20")+" points to this digest now; add the tag ("+e.name("library/node:20")+"@sha256:…)"; !strings.HasPrefix(got, w) {
			t.Errorf("got %q, want %q…", got, w)
		}
		if got, w := e.d.DescribeDigest(ctx, resolve.Key{Registry: h, Repository: "library/node"}, old.Digest).Message, "digest only: no tag to refresh; no tag among the 2 searched points to it"; got != w {
			t.Errorf("got %q, want %q", got, w)
		}
		if got := e.d.DescribeDigest(ctx, resolve.Key{Registry: h, Repository: "library/node"}, "sha256:"+strings.Repeat("3", 64)); got.Status != finding.Missing || !strings.Contains(got.Message, "does not exist in "+h+"/library/node: pulls fail") {
			t.Errorf("got %q", got)
		}
		if got := e.d.DescribeDigest(ctx, resolve.Key{Registry: h, Repository: "library/node"}, cur.Children[0].ConfigDigest); got.Status != finding.ImageID || !strings.Contains(got.Message, "is the image ID of a linux/amd64 image") {
			t.Errorf("got %q", got)
		}
	})
}

func TestCheckPlatforms(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		node := reg.PushIndex(t, "library/node", "20", "linux/amd64", "linux/arm64/v8")
		alpine := reg.PushIndex(t, "library/alpine", "3.20", "linux/amd64", "linux/arm64/v8", "linux/s390x")
		tool := reg.PushImage(t, "org/tool", "1")
		e := newEnv(t, reg, func(c *config.Config) { c.Platforms = []string{"linux/amd64", "linux/arm64/v8", "linux/s390x"} })
		img := func(repo string) *string { s := reg.Host() + "/" + repo; return &s }
		tag := func(s string) *string { return &s }
		findings := []finding.Finding{
			{File: "Dockerfile", Line: 1, Ref: "node:20", Image: img("library/node"), Tag: tag("20"), Status: finding.Unpinned, Resolved: &node.Digest},
			{File: "Dockerfile", Line: 2, Ref: "alpine:3.20", Image: img("library/alpine"), Tag: tag("3.20"), Status: finding.Unpinned, Resolved: &alpine.Digest},
			{File: "Dockerfile", Line: 3, Ref: "tool:1", Image: img("org/tool"), Tag: tag("1"), Status: finding.Stale, Resolved: &tool.Digest, Message: "moved on"},
			{File: "k8s.yaml", Line: 9, Ref: "node:20", Image: img("library/node"), Tag: tag("20"), Status: finding.OK, Resolved: &node.Digest},
			{File: "k8s.yaml", Line: 10, Ref: "node@sha256:…", Image: img("library/node"), Status: finding.DigestOnly},
		}
		reg.ResetCounts()
		gaps, errs := e.d.CheckPlatforms(context.Background(), findings)
		if len(errs) != 0 {
			t.Fatalf("errors: %v", errs)
		}
		var lines []string
		for _, g := range gaps {
			lines = append(lines, g.String())
		}
		w := []string{
			"Dockerfile:1: " + e.name("library/node:20") + ": the tag's index lacks required platform linux/s390x (it has linux/amd64, linux/arm64); required by platforms in the config",
			"Dockerfile:3: " + e.name("org/tool:1") + ": the tag's single-platform image lacks required platforms linux/arm64/v8, linux/s390x (it has linux/amd64); required by platforms in the config",
		}
		if strings.Join(lines, "\n") != strings.Join(w, "\n") {
			t.Errorf("gaps:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(w, "\n"))
		}
		msgs := []string{
			"index lacks required platform linux/s390x (it has linux/amd64, linux/arm64)",
			"",
			"moved on; single-platform image lacks required platforms linux/arm64/v8, linux/s390x (it has linux/amd64)",
			"index lacks required platform linux/s390x (it has linux/amd64, linux/arm64)",
			"",
		}
		for i, m := range msgs {
			if findings[i].Message != m {
				t.Errorf("finding %d message %q, want %q", i, findings[i].Message, m)
			}
			if i < 4 && findings[i].Status != []finding.Status{finding.Unpinned, finding.Unpinned, finding.Stale, finding.OK}[i] {
				t.Errorf("finding %d status changed to %s", i, findings[i].Status)
			}
		}
		// One GET per unique digest; the single image also needs its config.
		wantRequests(t, reg, "heads=0 gets=3 blobs=1 lists=0 other=0")
	})
}

// TestPlatformsShareDiagnosisRequests: after a platform diagnosis read the
// index, the platform check costs nothing more.
func TestPlatformsShareDiagnosisRequests(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	idx := reg.PushIndex(t, "library/node", "20")
	e := newEnv(t, reg, func(c *config.Config) { c.Platforms = []string{"linux/arm64"} })
	want(t, e.diagnose("library/node", "20", idx.Children[1].Digest), finding.Platform, "")
	reg.ResetCounts()
	image, tag := reg.Host()+"/library/node", "20"
	f := []finding.Finding{{File: "Dockerfile", Line: 1, Image: &image, Tag: &tag, Status: finding.Platform, Resolved: &idx.Digest}}
	gaps, errs := e.d.CheckPlatforms(context.Background(), f)
	if len(gaps)+len(errs) != 0 {
		t.Errorf("gaps %v errs %v", gaps, errs)
	}
	wantRequests(t, reg, "heads=0 gets=0 blobs=0 lists=0 other=0")
}

// TestStaleByConsistentLabel: a version label that agrees with the written
// tag says the pin is an older image of this tag: stale, without a search.
func TestStaleByConsistentLabel(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		old := reg.PushIndexOpts(t, "org/app", "2", nil, testregistry.Version("2.0.1"))
		reg.PushIndexOpts(t, "org/app", "2", nil, testregistry.Version("2.0.2"))
		for i := range 10 {
			reg.PushIndex(t, "org/app", fmt.Sprintf("1.%d", i))
		}
		e := newEnv(t, reg, nil)
		got := e.diagnose("org/app", "2", old.Digest)
		want(t, got, finding.Stale, "", "the pinned digest is an older "+e.name("org/app:2")+": its org.opencontainers.image.version annotation says 2.0.1")
		// HEAD of the pin, GET of it; no tag list, no tag HEAD.
		wantRequests(t, reg, "heads=1 gets=1 blobs=0 lists=0 other=0")
	})
}

// TestIndexEntryAnnotations: Docker Official Images annotate each entry of
// the index with its version; reading the index is enough.
func TestIndexEntryAnnotations(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	img := reg.PushImage(t, "library/ubuntu", "16.04-amd64")
	resp, err := http.Get(reg.URL() + "/v2/library/ubuntu/manifests/" + img.Digest)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	raw := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`+
		`{"mediaType":%q,"digest":%q,"size":%d,"platform":{"os":"linux","architecture":"amd64"},`+
		`"annotations":{"org.opencontainers.image.version":"16.04"}}]}`, img.MediaType, img.Digest, len(body))
	lie := reg.PutManifest(t, "library/ubuntu", "16.04", "application/vnd.oci.image.index.v1+json", []byte(raw))
	reg.PushIndex(t, "library/ubuntu", "20.04")
	for i := range 10 {
		reg.PushIndex(t, "library/ubuntu", fmt.Sprintf("20.%02d", 10+i))
	}
	e := newEnv(t, reg, nil)
	got := e.diagnose("library/ubuntu", "20.04", lie)
	want(t, got, finding.Mismatch, "", "is pinned to the digest of "+e.name("library/ubuntu:16.04"))
	// HEAD pin, GET pin (its entry names 16.04), tag list, one tag HEAD.
	wantRequests(t, reg, "heads=2 gets=1 blobs=0 lists=1 other=0")
}
