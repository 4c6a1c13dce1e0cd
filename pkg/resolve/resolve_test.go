package resolve_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/internal/testregistry"
	"github.com/digestbot/digestbot/pkg/resolve"
)

// --- helpers ---

// cfgFor returns a config that reaches reg under its own host name and
// also maps docker.io to it, both over plain HTTP.
func cfgFor(hosts ...string) *config.Config {
	c := &config.Config{Registries: map[string]config.Registry{}}
	for _, h := range hosts {
		c.Registries[h] = config.Registry{TLS: config.TLSDisabled}
	}
	return c
}

func mirrorCfg(name, host string) *config.Config {
	return &config.Config{Registries: map[string]config.Registry{name: {Host: host, TLS: config.TLSDisabled}}}
}

// newResolver builds a hermetic resolver (no Docker credentials) unless
// opts override it.
func newResolver(t testing.TB, cfg *config.Config, opts ...resolve.Opt) *resolve.Resolver {
	t.Helper()
	r, err := resolve.New(cfg, append([]resolve.Opt{resolve.WithDockerConfig("")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func key(reg *testregistry.Registry, repo, tag string) resolve.Key {
	return resolve.Key{Registry: reg.Host(), Repository: repo, Tag: tag}
}

func resolveOne(t testing.TB, r *resolve.Resolver, k resolve.Key) resolve.Result {
	t.Helper()
	res := r.Resolve(context.Background(), []resolve.Key{k}, nil)
	got, ok := res[k]
	if !ok {
		t.Fatalf("no result for %v", k)
	}
	return got
}

func mustOK(t testing.TB, res resolve.Result, want string) {
	t.Helper()
	if res.Err != nil {
		t.Fatalf("unexpected error: %v", res.Err)
	}
	if res.Digest != want {
		t.Fatalf("digest = %s, want %s", res.Digest, want)
	}
}

// checkErr asserts err wraps want and reads as one line naming the key.
func checkErr(t testing.TB, err, want error, k resolve.Key, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %v, got no error", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("want errors.Is(%v), got %v", want, err)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !strings.HasPrefix(msg, k.String()) {
		t.Errorf("error does not start with the key %s: %q", k, msg)
	}
	for _, c := range contains {
		if !strings.Contains(msg, c) {
			t.Errorf("error %q does not contain %q", msg, c)
		}
	}
	for _, other := range []error{resolve.ErrNotFound, resolve.ErrUnauthorized, resolve.ErrUnreachable, resolve.ErrTimeout, resolve.ErrRateLimited, resolve.ErrBadDigest, resolve.ErrRegistry, resolve.ErrInvalidRef} {
		if other != want && errors.Is(err, other) {
			t.Errorf("error wraps %v as well as %v", other, want)
		}
	}
}

// closedAddr returns a 127.0.0.1 port nobody listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func writeDockerConfig(t testing.TB, v any) string {
	t.Helper()
	dir := t.TempDir()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func authEntry(user, pass string) map[string]string {
	return map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}
}

// manifestHeads wraps h so that HEADs (and GETs) of manifests are answered
// by f while f returns true.
func manifestFault(f func(w http.ResponseWriter, r *http.Request) bool) testregistry.Opt {
	return testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") && (r.Method == http.MethodHead || r.Method == http.MethodGet) && f(w, r) {
				return
			}
			next.ServeHTTP(w, r)
		})
	})
}

// --- digests ---

func TestResolveIndexAndImage(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		t.Parallel()
		reg := newRegistry(t)
		idx := reg.PushIndex(t, "app/multi", "1.0", "linux/amd64", "linux/arm64/v8")
		img := reg.PushImage(t, "app/single", "2.0")
		list := reg.PushIndexOpts(t, "app/dockerlist", "3.0", []string{"linux/amd64", "linux/arm/v7"}, testregistry.DockerMediaTypes())
		reg.ResetCounts()

		r := newResolver(t, cfgFor(reg.Host()))
		kIdx, kImg, kList := key(reg, "app/multi", "1.0"), key(reg, "app/single", "2.0"), key(reg, "app/dockerlist", "3.0")
		res := r.Resolve(context.Background(), []resolve.Key{kIdx, kImg, kList}, nil)

		mustOK(t, res[kIdx], idx.Digest)
		if !res[kIdx].IsIndex || res[kIdx].MediaType != "application/vnd.oci.image.index.v1+json" {
			t.Errorf("index: IsIndex=%v MediaType=%q", res[kIdx].IsIndex, res[kIdx].MediaType)
		}
		mustOK(t, res[kImg], img.Digest)
		if res[kImg].IsIndex || res[kImg].MediaType != "application/vnd.oci.image.manifest.v1+json" {
			t.Errorf("image: IsIndex=%v MediaType=%q", res[kImg].IsIndex, res[kImg].MediaType)
		}
		mustOK(t, res[kList], list.Digest)
		if !res[kList].IsIndex || res[kList].MediaType != "application/vnd.docker.distribution.manifest.list.v2+json" {
			t.Errorf("docker list: IsIndex=%v MediaType=%q", res[kList].IsIndex, res[kList].MediaType)
		}
		for _, c := range idx.Children {
			if c.Digest == res[kIdx].Digest {
				t.Errorf("index resolved to a child digest (%s)", c.Platform)
			}
		}

		c := reg.Counts()
		for _, k := range []string{"app/multi:1.0", "app/single:2.0", "app/dockerlist:3.0"} {
			if c.ManifestHead[k] != 1 {
				t.Errorf("HEADs of %s = %d, want 1", k, c.ManifestHead[k])
			}
		}
		if c.Gets() != 0 {
			t.Errorf("manifest GETs = %d, want 0 (%v)", c.Gets(), c.ManifestGet)
		}

		// An independent check of the digests.
		if got := reg.SkopeoDigest(t, "app/multi:1.0"); got != res[kIdx].Digest {
			t.Errorf("skopeo says %s, resolver %s", got, res[kIdx].Digest)
		}
		if got := reg.SkopeoDigest(t, "app/single:2.0"); got != res[kImg].Digest {
			t.Errorf("skopeo says %s, resolver %s", got, res[kImg].Digest)
		}
	})
}

func TestMovedTag(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		t.Parallel()
		reg := newRegistry(t)
		old := reg.PushIndex(t, "library/ubuntu", "20.04")
		cur := reg.PushIndex(t, "library/ubuntu", "22.04")
		k := key(reg, "library/ubuntu", "20.04")
		r := newResolver(t, cfgFor(reg.Host()))
		mustOK(t, resolveOne(t, r, k), old.Digest)
		reg.Tag(t, "library/ubuntu", "20.04", cur.Digest)
		mustOK(t, resolveOne(t, r, k), cur.Digest)
	})
}

func TestMirrorMapping(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		t.Parallel()
		reg := newRegistry(t)
		idx := reg.PushIndex(t, "library/ubuntu", "20.04")
		reg.ResetCounts()
		r := newResolver(t, mirrorCfg("docker.io", reg.Host()))
		if got := r.HostFor("docker.io"); got != reg.Host() {
			t.Errorf("HostFor(docker.io) = %s", got)
		}
		if !r.Mapped("docker.io") || r.Mapped("ghcr.io") {
			t.Errorf("Mapped wrong")
		}
		k := resolve.Key{Registry: "docker.io", Repository: "library/ubuntu", Tag: "20.04"}
		missing := resolve.Key{Registry: "docker.io", Repository: "library/ubuntu", Tag: "99.99"}
		res := r.Resolve(context.Background(), []resolve.Key{k, missing}, nil)
		mustOK(t, res[k], idx.Digest)
		checkErr(t, res[missing].Err, resolve.ErrNotFound, missing,
			"docker.io/library/ubuntu:99.99 (via "+reg.Host()+"): tag not found; check the tag exists")
		if n := reg.Counts().ManifestHead["library/ubuntu:20.04"]; n != 1 {
			t.Errorf("HEADs through the mirror = %d, want 1", n)
		}
	})
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		t.Parallel()
		reg := newRegistry(t)
		reg.PushImage(t, "app/exists", "1")
		r := newResolver(t, cfgFor(reg.Host()))
		noTag, noRepo := key(reg, "app/exists", "nope"), key(reg, "app/nothere", "1")
		noRepo2 := key(reg, "app/nothere", "2")
		res := r.Resolve(context.Background(), []resolve.Key{noTag, noRepo, noRepo2}, nil)
		checkErr(t, res[noTag].Err, resolve.ErrNotFound, noTag, ": tag not found; check the tag exists")
		checkErr(t, res[noRepo].Err, resolve.ErrNotFound, noRepo, ": repository not found; check the image name")
		checkErr(t, res[noRepo2].Err, resolve.ErrNotFound, noRepo2, "repository not found")
		c := reg.Counts()
		if c.TagsList["app/nothere"] != 1 {
			t.Errorf("repository probed %d times, want once: %v", c.TagsList["app/nothere"], c.TagsList)
		}
		if c.ManifestHead["app/exists:nope"] != 1 {
			t.Errorf("a 404 was retried: %v", c.ManifestHead)
		}
	})
}

// --- dedupe and concurrency ---

func TestDedupe(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		t.Parallel()
		reg := newRegistry(t)
		want := map[string]string{}
		for _, tag := range []string{"a", "b", "c", "d", "e", "latest"} {
			want[tag] = reg.PushIndex(t, "dedupe/app", tag).Digest
		}
		reg.ResetCounts()
		var keys []resolve.Key
		for i := range 20 {
			tags := []string{"a", "b", "c", "d", "e", "latest", ""}
			keys = append(keys, key(reg, "dedupe/app", tags[i%len(tags)]))
		}
		r := newResolver(t, cfgFor(reg.Host()))
		var calls, lastDone, lastTotal int
		res := r.Resolve(context.Background(), keys, func(done, total int) { calls++; lastDone, lastTotal = done, total })
		for _, k := range keys {
			tag := k.Tag
			if tag == "" {
				tag = "latest"
			}
			mustOK(t, res[k], want[tag])
		}
		if len(res) != 7 {
			t.Errorf("%d results, want one per distinct key (7)", len(res))
		}
		c := reg.Counts()
		for tag := range want {
			if n := c.ManifestHead["dedupe/app:"+tag]; n != 1 {
				t.Errorf("HEADs of %s = %d, want 1", tag, n)
			}
		}
		if c.Gets() != 0 || c.Total != 6 {
			t.Errorf("GETs = %d, total requests = %d; want 0 and 6 (%+v)", c.Gets(), c.Total, c)
		}
		if calls != 6 || lastDone != 6 || lastTotal != 6 {
			t.Errorf("progress: %d calls, last %d/%d; want 6 calls ending 6/6", calls, lastDone, lastTotal)
		}
		if s := r.Stats(); s.Lookups != 6 || s.ManifestGets != 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestConcurrency(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t, testregistry.WithLatency(50*time.Millisecond))
	var keys []resolve.Key
	for i := range 32 {
		tag := fmt.Sprintf("v%d", i)
		reg.PushImage(t, "conc/app", tag)
		keys = append(keys, key(reg, "conc/app", tag))
	}
	reg.ResetCounts()
	r := newResolver(t, cfgFor(reg.Host()), resolve.WithConcurrency(16))
	start := time.Now()
	res := r.Resolve(context.Background(), keys, nil)
	elapsed := time.Since(start)
	for _, k := range keys {
		if res[k].Err != nil {
			t.Fatal(res[k].Err)
		}
	}
	c := reg.Counts()
	if c.MaxInFlight < 8 || c.MaxInFlight > 16 {
		t.Errorf("max in-flight requests = %d, want 8..16", c.MaxInFlight)
	}
	t.Logf("32 lookups at 50 ms latency, concurrency 16: %v (serial would be ≥ 1.6 s), max in flight %d", elapsed, c.MaxInFlight)

	// Concurrency 1 is serial.
	reg.ResetCounts()
	r1 := newResolver(t, cfgFor(reg.Host()), resolve.WithConcurrency(1))
	r1.Resolve(context.Background(), keys[:4], nil)
	if c := reg.Counts(); c.MaxInFlight != 1 {
		t.Errorf("concurrency 1: max in flight %d", c.MaxInFlight)
	}
}

// --- fallbacks and bad digests ---

func TestGetFallbackWithoutDigestHeader(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		t.Parallel()
		reg := newRegistry(t, testregistry.WithoutDigestHeader())
		idx := reg.PushIndex(t, "nodigest/app", "1")
		img := reg.PushImage(t, "nodigest/app", "2", testregistry.DockerMediaTypes())
		reg.ResetCounts()
		r := newResolver(t, cfgFor(reg.Host()))
		k1, k2 := key(reg, "nodigest/app", "1"), key(reg, "nodigest/app", "2")
		res := r.Resolve(context.Background(), []resolve.Key{k1, k2}, nil)
		mustOK(t, res[k1], idx.Digest)
		mustOK(t, res[k2], img.Digest)
		if !res[k1].IsIndex || res[k2].IsIndex {
			t.Errorf("IsIndex wrong: %+v %+v", res[k1], res[k2])
		}
		c := reg.Counts()
		if c.ManifestHead["nodigest/app:1"] != 1 || c.ManifestGet["nodigest/app:1"] != 1 {
			t.Errorf("want one HEAD then one GET: %+v", c)
		}
		if s := r.Stats(); s.ManifestGets != 2 {
			t.Errorf("stats: %+v", s)
		}
	})
}

func TestBadDigest(t *testing.T) {
	t.Parallel()
	t.Run("body does not match header", func(t *testing.T) {
		t.Parallel()
		lie := "sha256:" + strings.Repeat("ab", 32)
		// HEAD carries no digest (so regclient GETs), the GET a wrong one.
		reg := testregistry.New(t, testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.URL.Path, "/manifests/") {
					w = &digestHeader{ResponseWriter: w, head: r.Method == http.MethodHead, lie: lie}
				}
				next.ServeHTTP(w, r)
			})
		}))
		reg.PushImage(t, "bad/app", "1")
		r := newResolver(t, cfgFor(reg.Host()))
		k := key(reg, "bad/app", "1")
		checkErr(t, resolveOne(t, r, k).Err, resolve.ErrBadDigest, k, "does not match")
	})
	t.Run("digest of an unsupported algorithm", func(t *testing.T) {
		t.Parallel()
		reg := testregistry.New(t, manifestFault(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodHead {
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Docker-Content-Digest", "sha384:"+strings.Repeat("0a", 48))
				w.WriteHeader(http.StatusOK)
				return true
			}
			return false
		}))
		reg.PushImage(t, "bad/app", "1")
		r := newResolver(t, cfgFor(reg.Host()))
		k := key(reg, "bad/app", "1")
		checkErr(t, resolveOne(t, r, k).Err, resolve.ErrBadDigest, k, "invalid digest", "sha384:")
	})
}

// digestHeader drops the digest header of HEAD answers and replaces that
// of GET answers with lie.
type digestHeader struct {
	http.ResponseWriter
	head  bool
	lie   string
	wrote bool
}

func (d *digestHeader) WriteHeader(code int) {
	if !d.wrote {
		d.wrote = true
		if d.head {
			d.Header().Del("Docker-Content-Digest")
		} else {
			d.Header().Set("Docker-Content-Digest", d.lie)
		}
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *digestHeader) Write(b []byte) (int, error) {
	if !d.wrote {
		d.WriteHeader(http.StatusOK)
	}
	return d.ResponseWriter.Write(b)
}

func TestHeadNotAllowedFallsBackToGet(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t, manifestFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return true
		}
		return false
	}))
	img := reg.PushImage(t, "nohead/app", "1")
	r := newResolver(t, cfgFor(reg.Host()))
	mustOK(t, resolveOne(t, r, key(reg, "nohead/app", "1")), img.Digest)
}

// --- authentication ---

func TestUnauthorizedWithoutCredentials(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		t.Parallel()
		const secret = "s3cr3t-never-printed"
		reg := newRegistry(t, testregistry.WithBasicAuth("alice", secret))
		reg.PushImage(t, "private/app", "1")
		k := key(reg, "private/app", "1")

		r := newResolver(t, cfgFor(reg.Host()))
		err := resolveOne(t, r, k).Err
		checkErr(t, err, resolve.ErrUnauthorized, k, "unauthorized", "docker login "+reg.Host())

		// Wrong credentials: rejected, and neither secret shows.
		dir := writeDockerConfig(t, map[string]any{"auths": map[string]any{reg.Host(): authEntry("alice", "wrong-"+secret)}})
		r2 := newResolver(t, cfgFor(reg.Host()), resolve.WithDockerConfig(dir))
		err2 := resolveOne(t, r2, k).Err
		checkErr(t, err2, resolve.ErrUnauthorized, k, "rejected", "log in again")
		for _, e := range []error{err, err2} {
			if strings.Contains(fmt.Sprintf("%v %+v %#v", e, e, e), secret) || strings.Contains(e.Error(), base64.StdEncoding.EncodeToString([]byte("alice:wrong-"+secret))) {
				t.Errorf("secret leaked: %v", e)
			}
		}
	})
}

// TestDockerConfigAuths uses $DOCKER_CONFIG (so it is not parallel): the
// config's per-host entry (tls: disabled) must merge with the Docker
// credentials of the same name without losing them.
func TestDockerConfigAuths(t *testing.T) {
	reg := testregistry.New(t, testregistry.WithBasicAuth("alice", "pw-1"))
	img := reg.PushImage(t, "library/app", "1")

	t.Run("registry name", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", writeDockerConfig(t, map[string]any{"auths": map[string]any{reg.Host(): authEntry("alice", "pw-1")}}))
		t.Setenv("DOCKER_AUTH_CONFIG", "")
		r, err := resolve.New(cfgFor(reg.Host()))
		if err != nil {
			t.Fatal(err)
		}
		mustOK(t, resolveOne(t, r, key(reg, "library/app", "1")), img.Digest)
	})
	t.Run("http:// key in config.json", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", writeDockerConfig(t, map[string]any{"auths": map[string]any{"http://" + reg.Host(): authEntry("alice", "pw-1")}}))
		r, err := resolve.New(cfgFor(reg.Host()))
		if err != nil {
			t.Fatal(err)
		}
		mustOK(t, resolveOne(t, r, key(reg, "library/app", "1")), img.Digest)
	})

	dockerKey := resolve.Key{Registry: "docker.io", Repository: "library/app", Tag: "1"}
	t.Run("mirror uses the mapped host's credentials first", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", writeDockerConfig(t, map[string]any{"auths": map[string]any{
			reg.Host():                    authEntry("alice", "pw-1"),
			"https://index.docker.io/v1/": authEntry("hubuser", "hub-password"),
		}}))
		r, err := resolve.New(mirrorCfg("docker.io", reg.Host()))
		if err != nil {
			t.Fatal(err)
		}
		mustOK(t, resolveOne(t, r, dockerKey), img.Digest)
	})
	t.Run("mirror never receives the name's credentials", func(t *testing.T) {
		// registries.docker.io.host in a repository's config must not be
		// able to send the Docker Hub password to a host of its choosing.
		var seen atomic.Value
		spy := testregistry.New(t, testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if a := r.Header.Get("Authorization"); a != "" {
					seen.Store(a)
				}
				next.ServeHTTP(w, r)
			})
		}), testregistry.WithBasicAuth("alice", "pw-1"))
		spy.PushImage(t, "library/app", "1")
		t.Setenv("DOCKER_CONFIG", writeDockerConfig(t, map[string]any{"auths": map[string]any{
			"https://index.docker.io/v1/": authEntry("alice", "pw-1"),
		}}))
		r, err := resolve.New(mirrorCfg("docker.io", spy.Host()))
		if err != nil {
			t.Fatal(err)
		}
		checkErr(t, resolveOne(t, r, dockerKey).Err, resolve.ErrUnauthorized, dockerKey, "docker login "+spy.Host())
		if a, _ := seen.Load().(string); a != "" {
			t.Errorf("the mapped host received an Authorization header: %q", a)
		}
	})
	t.Run("malformed config.json is named in unauthorized errors", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", dir)
		r, err := resolve.New(cfgFor(reg.Host()))
		if err != nil {
			t.Fatal(err)
		}
		k := key(reg, "library/app", "1")
		checkErr(t, resolveOne(t, r, k).Err, resolve.ErrUnauthorized, k, "Docker config could not be read")
	})
}

// fakeHelper writes docker-credential-fake into a folder put on PATH. It
// answers get with user/secret (and logs the host asked about) and list
// with listHost → user.
func fakeHelper(t *testing.T, user, secret, listHost string) (logFile string) {
	t.Helper()
	dir := t.TempDir()
	logFile = filepath.Join(dir, "asked.log")
	script := fmt.Sprintf(`#!/bin/sh
case "$1" in
get)
  read -r host
  printf '%%s\n' "$host" >> %q
  printf '{"ServerURL":"%%s","Username":%q,"Secret":%q}\n' "$host"
  ;;
list)
  printf '{%q:%q}\n'
  ;;
*) exit 1 ;;
esac
`, logFile, user, secret, listHost, user)
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-fake"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return logFile
}

func TestCredentialHelpers(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the fake credential helper")
	}
	const secret = "helper-secret-42"
	reg := testregistry.New(t, testregistry.WithBasicAuth("bob", secret))
	img := reg.PushIndex(t, "team/app", "1")
	k := key(reg, "team/app", "1")

	t.Run("credHelpers", func(t *testing.T) {
		asked := fakeHelper(t, "bob", secret, reg.Host())
		t.Setenv("DOCKER_CONFIG", writeDockerConfig(t, map[string]any{"credHelpers": map[string]string{reg.Host(): "fake"}}))
		r, err := resolve.New(cfgFor(reg.Host()))
		if err != nil {
			t.Fatal(err)
		}
		mustOK(t, resolveOne(t, r, k), img.Digest)
		if b, _ := os.ReadFile(asked); strings.TrimSpace(string(b)) != reg.Host() {
			t.Errorf("helper asked about %q, want %s", b, reg.Host())
		}
	})
	t.Run("credsStore", func(t *testing.T) {
		fakeHelper(t, "bob", secret, reg.Host())
		t.Setenv("DOCKER_CONFIG", writeDockerConfig(t, map[string]any{"credsStore": "fake", "auths": map[string]any{reg.Host(): map[string]string{}}}))
		r, err := resolve.New(cfgFor(reg.Host()))
		if err != nil {
			t.Fatal(err)
		}
		mustOK(t, resolveOne(t, r, k), img.Digest)
	})
	t.Run("mirror asks the helper about the mapped host", func(t *testing.T) {
		asked := fakeHelper(t, "bob", secret, reg.Host())
		t.Setenv("DOCKER_CONFIG", writeDockerConfig(t, map[string]any{"credHelpers": map[string]string{reg.Host(): "fake"}}))
		r, err := resolve.New(mirrorCfg("docker.io", reg.Host()))
		if err != nil {
			t.Fatal(err)
		}
		mustOK(t, resolveOne(t, r, resolve.Key{Registry: "docker.io", Repository: "team/app", Tag: "1"}), img.Digest)
		if b, _ := os.ReadFile(asked); strings.TrimSpace(string(b)) != reg.Host() {
			t.Errorf("helper asked about %q, want %s", b, reg.Host())
		}
	})
	t.Run("wrong secret from the helper never shows", func(t *testing.T) {
		fakeHelper(t, "bob", "wrong-"+secret, reg.Host())
		t.Setenv("DOCKER_CONFIG", writeDockerConfig(t, map[string]any{"credHelpers": map[string]string{reg.Host(): "fake"}}))
		r, err := resolve.New(cfgFor(reg.Host()))
		if err != nil {
			t.Fatal(err)
		}
		err = resolveOne(t, r, k).Err
		checkErr(t, err, resolve.ErrUnauthorized, k, "credential helper docker-credential-fake")
		if strings.Contains(err.Error(), secret) {
			t.Errorf("secret leaked: %v", err)
		}
	})
}

func TestGitHubToken(t *testing.T) {
	t.Parallel()
	const tok = "ghs_0123456789abcdefTOKEN"
	reg := testregistry.New(t, testregistry.WithBasicAuth(resolve.GitHubTokenUser, tok))
	img := reg.PushImage(t, "org/app", "1")
	k := resolve.Key{Registry: "ghcr.io", Repository: "org/app", Tag: "1"}

	// The token goes to ghcr.io (here: the host the caller names), and
	// never to another host a config maps ghcr.io to.
	r := newResolver(t, mirrorCfg("ghcr.io", reg.Host()), resolve.WithGitHubToken(tok), resolve.WithGitHubTokenHost(reg.Host()))
	mustOK(t, resolveOne(t, r, k), img.Digest)
	rOther := newResolver(t, mirrorCfg("ghcr.io", reg.Host()), resolve.WithGitHubToken(tok))
	checkErr(t, resolveOne(t, rOther, k).Err, resolve.ErrUnauthorized, k)

	// A Docker credential for the host wins over the token.
	dir := writeDockerConfig(t, map[string]any{"auths": map[string]any{reg.Host(): authEntry("someone", "else")}})
	r2 := newResolver(t, mirrorCfg("ghcr.io", reg.Host()), resolve.WithGitHubToken(tok), resolve.WithGitHubTokenHost(reg.Host()), resolve.WithDockerConfig(dir))
	err := resolveOne(t, r2, k).Err
	checkErr(t, err, resolve.ErrUnauthorized, k)
	if strings.Contains(err.Error(), tok) {
		t.Errorf("token leaked: %v", err)
	}
}

// --- network failures ---

func TestUnreachable(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	r := newResolver(t, cfgFor(addr))
	k := resolve.Key{Registry: addr, Repository: "app", Tag: "1"}
	start := time.Now()
	err := resolveOne(t, r, k).Err
	elapsed := time.Since(start)
	checkErr(t, err, resolve.ErrUnreachable, k, "refused", "check the registry name")
	if elapsed > 3*time.Second {
		t.Errorf("connection refused took %v", elapsed)
	}
	t.Logf("connection refused: %v: %v", elapsed, err)
}

func TestUnreachableManyTagsShortCircuit(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	r := newResolver(t, mirrorCfg("docker.io", addr))
	var keys []resolve.Key
	for i := range 50 {
		keys = append(keys, resolve.Key{Registry: "docker.io", Repository: "library/app", Tag: fmt.Sprintf("t%d", i)})
	}
	start := time.Now()
	res := r.Resolve(context.Background(), keys, nil)
	elapsed := time.Since(start)
	for _, k := range keys {
		checkErr(t, res[k].Err, resolve.ErrUnreachable, k, "(via "+addr+")", "registries.docker.io.host")
	}
	if elapsed > 5*time.Second {
		t.Errorf("50 tags on a dead host took %v", elapsed)
	}
	s := r.Stats()
	t.Logf("50 tags on a dead host: %v, stats %+v", elapsed, s)
	if s.ShortCircuited == 0 {
		t.Errorf("no key was short-circuited: %+v", s)
	}
}

func TestDNSFailure(t *testing.T) {
	t.Parallel()
	// .invalid never resolves (RFC 6761); the resolver answers locally.
	r := newResolver(t, nil)
	k := resolve.Key{Registry: "registry.digestbot.invalid", Repository: "app", Tag: "1"}
	start := time.Now()
	err := resolveOne(t, r, k).Err
	checkErr(t, err, resolve.ErrUnreachable, k)
	t.Logf("DNS failure: %v: %v", time.Since(start), err)
}

func TestTLSModes(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	img := reg.PushImage(t, "tls/app", "1")
	target, _ := url.Parse(reg.URL())
	tlsSrv := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	tlsHost := tlsSrv.Listener.Addr().String()
	k := resolve.Key{Registry: tlsHost, Repository: "tls/app", Tag: "1"}

	insecure := &config.Config{Registries: map[string]config.Registry{tlsHost: {TLS: config.TLSInsecure}}}
	mustOK(t, resolveOne(t, newResolver(t, insecure), k), img.Digest)

	verified := &config.Config{Registries: map[string]config.Registry{tlsHost: {TLS: config.TLSEnabled}}}
	checkErr(t, resolveOne(t, newResolver(t, verified), k).Err, resolve.ErrUnreachable, k, "certificate", "tls: insecure")

	// A plain-HTTP registry reached over HTTPS because the config says
	// tls: enabled for it.
	kPlain := key(reg, "tls/app", "1")
	enabled := &config.Config{Registries: map[string]config.Registry{reg.Host(): {TLS: config.TLSEnabled}}}
	checkErr(t, resolveOne(t, newResolver(t, enabled), kPlain).Err, resolve.ErrUnreachable, kPlain, "tls: disabled")

	// Not in the config and on loopback: HTTPS, then plain HTTP, as Docker
	// does for loopback registries.
	mustOK(t, resolveOne(t, newResolver(t, nil), kPlain), img.Digest)
}

// --- deadlines, rate limits, server errors ---

func TestLookupTimeout(t *testing.T) {
	t.Parallel()
	hang := manifestFault(func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return true
	})
	reg := testregistry.New(t, hang)
	reg.PushImage(t, "slow/app", "1")
	const timeout = 300 * time.Millisecond
	r := newResolver(t, cfgFor(reg.Host()), resolve.WithLookupTimeout(timeout))
	k := key(reg, "slow/app", "1")
	start := time.Now()
	err := resolveOne(t, r, k).Err
	elapsed := time.Since(start)
	checkErr(t, err, resolve.ErrTimeout, k, "no answer within 300ms")
	if elapsed < timeout || elapsed > timeout+time.Second {
		t.Errorf("timed out after %v, want ≈ %v", elapsed, timeout)
	}

	// Many tags on a host that never answers: one timeout, not one per wave.
	var keys []resolve.Key
	for i := range 40 {
		keys = append(keys, key(reg, "slow/app", fmt.Sprintf("t%d", i)))
	}
	start = time.Now()
	res := newResolver(t, cfgFor(reg.Host()), resolve.WithLookupTimeout(timeout), resolve.WithConcurrency(4)).Resolve(context.Background(), keys, nil)
	elapsed = time.Since(start)
	for _, k := range keys {
		checkErr(t, res[k].Err, resolve.ErrTimeout, k)
	}
	if elapsed > timeout+time.Second {
		t.Errorf("40 tags on a hanging host took %v", elapsed)
	}
}

func TestRunDeadline(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t, testregistry.WithLatency(2*time.Second))
	reg.PushImage(t, "slow/app", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := newResolver(t, cfgFor(reg.Host()), resolve.WithConcurrency(1))
	keys := []resolve.Key{key(reg, "slow/app", "1"), key(reg, "slow/app", "2"), key(reg, "slow/app", "3")}
	start := time.Now()
	res := r.Resolve(ctx, keys, nil)
	if d := time.Since(start); d > time.Second {
		t.Errorf("run deadline ignored: %v", d)
	}
	for _, k := range keys {
		checkErr(t, res[k].Err, resolve.ErrTimeout, k, "run's deadline")
	}
}

// failN answers the first n manifest requests with status (and headers).
func failN(n int32, status int, hdr map[string]string) (testregistry.Opt, *atomic.Int32) {
	var seen atomic.Int32
	return manifestFault(func(w http.ResponseWriter, r *http.Request) bool {
		if seen.Add(1) > n {
			return false
		}
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		return true
	}), &seen
}

func TestRateLimitRetryAfterThenSuccess(t *testing.T) {
	t.Parallel()
	fault, seen := failN(1, http.StatusTooManyRequests, map[string]string{"Retry-After": "1"})
	reg := testregistry.New(t, fault)
	img := reg.PushImage(t, "limited/app", "1")
	r := newResolver(t, cfgFor(reg.Host()))
	start := time.Now()
	mustOK(t, resolveOne(t, r, key(reg, "limited/app", "1")), img.Digest)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("Retry-After: 1 not honoured (%v)", d)
	}
	if seen.Load() != 2 {
		t.Errorf("%d manifest requests, want 2", seen.Load())
	}
}

func TestRateLimitedForever(t *testing.T) {
	t.Parallel()
	t.Run("no Retry-After", func(t *testing.T) {
		t.Parallel()
		fault, seen := failN(1<<30, http.StatusTooManyRequests, nil)
		reg := testregistry.New(t, fault)
		r := newResolver(t, cfgFor(reg.Host()), resolve.WithRetry(3, 50*time.Millisecond))
		k := key(reg, "limited/app", "1")
		checkErr(t, resolveOne(t, r, k).Err, resolve.ErrRateLimited, k, "HTTP 429", "after 3 attempts", "retry later")
		if seen.Load() != 3 {
			t.Errorf("%d attempts, want 3", seen.Load())
		}
	})
	t.Run("Retry-After longer than the lookup", func(t *testing.T) {
		t.Parallel()
		fault, _ := failN(1<<30, http.StatusTooManyRequests, map[string]string{"Retry-After": "3600"})
		reg := testregistry.New(t, fault)
		r := newResolver(t, cfgFor(reg.Host()))
		keys := []resolve.Key{key(reg, "limited/app", "1"), key(reg, "limited/app", "2"), key(reg, "limited/app", "3")}
		start := time.Now()
		res := newResolver(t, cfgFor(reg.Host()), resolve.WithConcurrency(1)).Resolve(context.Background(), keys, nil)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
		for _, k := range keys {
			checkErr(t, res[k].Err, resolve.ErrRateLimited, k, "asks to wait 1h0m0s")
		}
		_ = r
		if n := reg.Counts().Manifests(); n != 1 {
			t.Errorf("%d manifest requests, want 1 (the others short-circuited)", n)
		}
	})
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	t.Run("503 forever", func(t *testing.T) {
		t.Parallel()
		fault, seen := failN(1<<30, http.StatusServiceUnavailable, nil)
		reg := testregistry.New(t, fault)
		r := newResolver(t, cfgFor(reg.Host()))
		k := key(reg, "down/app", "1")
		start := time.Now()
		err := resolveOne(t, r, k).Err
		elapsed := time.Since(start)
		checkErr(t, err, resolve.ErrRegistry, k, "HTTP 503", "after 4 attempts")
		if seen.Load() != int32(resolve.DefaultAttempts) {
			t.Errorf("%d attempts, want %d", seen.Load(), resolve.DefaultAttempts)
		}
		if elapsed > 5*time.Second {
			t.Errorf("503 forever took %v", elapsed)
		}
		t.Logf("503 forever: %v: %v", elapsed, err)
	})
	t.Run("500 then success", func(t *testing.T) {
		t.Parallel()
		fault, _ := failN(2, http.StatusInternalServerError, nil)
		reg := testregistry.New(t, fault)
		img := reg.PushImage(t, "flaky/app", "1")
		r := newResolver(t, cfgFor(reg.Host()), resolve.WithRetry(4, 20*time.Millisecond))
		mustOK(t, resolveOne(t, r, key(reg, "flaky/app", "1")), img.Digest)
		if s := r.Stats(); s.Retries != 2 {
			t.Errorf("stats %+v", s)
		}
	})
	t.Run("400 is not retried", func(t *testing.T) {
		t.Parallel()
		fault, seen := failN(1<<30, http.StatusBadRequest, nil)
		reg := testregistry.New(t, fault)
		r := newResolver(t, cfgFor(reg.Host()))
		k := key(reg, "odd/app", "1")
		checkErr(t, resolveOne(t, r, k).Err, resolve.ErrRegistry, k, "HTTP 400")
		if seen.Load() != 1 {
			t.Errorf("%d attempts", seen.Load())
		}
	})
	t.Run("403", func(t *testing.T) {
		t.Parallel()
		fault, _ := failN(1<<30, http.StatusForbidden, nil)
		reg := testregistry.New(t, fault)
		r := newResolver(t, cfgFor(reg.Host()))
		k := key(reg, "denied/app", "1")
		checkErr(t, resolveOne(t, r, k).Err, resolve.ErrUnauthorized, k, "access denied")
	})
}

func TestInvalidKey(t *testing.T) {
	t.Parallel()
	r := newResolver(t, nil)
	k := resolve.Key{Registry: "docker.io", Repository: "Upper/Case", Tag: "1"}
	checkErr(t, resolveOne(t, r, k).Err, resolve.ErrInvalidRef, k)
}

func TestEmpty(t *testing.T) {
	t.Parallel()
	r := newResolver(t, nil)
	if res := r.Resolve(context.Background(), nil, nil); len(res) != 0 {
		t.Fatal(res)
	}
	if r.Client() == nil {
		t.Fatal("no client")
	}
	if got := r.HostFor("docker.io"); got != "registry-1.docker.io" {
		t.Errorf("HostFor(docker.io) = %s", got)
	}
}

// --- streaming ---

// TestBatchStreaming: keys added from many goroutines while lookups run
// (duplicates, and a key without a tag next to :latest) are each looked up
// once; the first lookup starts before the last key is added; progress
// never counts past the keys added so far and ends at all of them.
func TestBatchStreaming(t *testing.T) {
	t.Parallel()
	firstHead := make(chan struct{})
	var once atomic.Bool
	reg := testregistry.New(t, manifestFault(func(http.ResponseWriter, *http.Request) bool {
		if once.CompareAndSwap(false, true) {
			close(firstHead)
		}
		return false
	}))
	tags := []string{"a", "b", "c", "d", "e", "f", "g", "latest"}
	want := map[string]string{}
	for _, tag := range tags {
		want[tag] = reg.PushImage(t, "stream/app", tag).Digest
	}
	reg.ResetCounts()
	r := newResolver(t, cfgFor(reg.Host()), resolve.WithConcurrency(3))
	var calls, lastDone, lastTotal int
	var badProgress atomic.Bool
	b := r.Start(context.Background(), func(done, total int) {
		calls++
		if done > total {
			badProgress.Store(true)
		}
		lastDone, lastTotal = done, total
	})

	// One key first; the rest only once its lookup has reached the
	// registry: a Batch looks keys up as they come, not at Wait.
	b.Add(key(reg, "stream/app", "a"))
	select {
	case <-firstHead:
	case <-time.After(30 * time.Second):
		t.Fatal("no manifest request reached the registry before Wait")
	}
	var keys []resolve.Key
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 20 {
				b.Add(key(reg, "stream/app", append(tags, "")[(g+i)%(len(tags)+1)]))
			}
		}()
		for i := range 20 {
			keys = append(keys, key(reg, "stream/app", append(tags, "")[(g+i)%(len(tags)+1)]))
		}
	}
	for range 4 {
		<-done
	}
	res := b.Wait()
	for _, k := range keys {
		tag := k.Tag
		if tag == "" {
			tag = "latest"
		}
		mustOK(t, res[k], want[tag])
	}
	if len(res) != len(tags)+1 {
		t.Errorf("%d results, want one per key added as given (%d)", len(res), len(tags)+1)
	}
	c := reg.Counts()
	for _, tag := range tags {
		if n := c.ManifestHead["stream/app:"+tag]; n != 1 {
			t.Errorf("HEADs of %s = %d, want 1", tag, n)
		}
	}
	if c.Gets() != 0 || c.Total != len(tags) {
		t.Errorf("GETs %d, requests %d; want 0 and %d", c.Gets(), c.Total, len(tags))
	}
	if c.MaxInFlight > 3 {
		t.Errorf("max in flight %d, want at most the concurrency (3)", c.MaxInFlight)
	}
	if calls != len(tags) || lastDone != len(tags) || lastTotal != len(tags) || badProgress.Load() {
		t.Errorf("progress: %d calls, last %d/%d (done > total seen: %v); want %d calls ending %d/%d",
			calls, lastDone, lastTotal, badProgress.Load(), len(tags), len(tags), len(tags))
	}
	defer func() {
		if recover() == nil {
			t.Error("Add after Wait did not panic")
		}
	}()
	b.Add(key(reg, "stream/app", "late"))
}

// TestBatchEmpty: a Batch given nothing returns at once with no result and
// sends nothing.
func TestBatchEmpty(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t)
	r := newResolver(t, cfgFor(reg.Host()))
	if res := r.Start(context.Background(), nil).Wait(); len(res) != 0 {
		t.Errorf("results %v", res)
	}
	if c := reg.Counts(); c.Total != 0 {
		t.Errorf("%d requests", c.Total)
	}
}
