package verify_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regclient/regclient/types/mediatype"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/internal/testregistry"
	"github.com/digestbot/digestbot/pkg/internal/testsign"
	"github.com/digestbot/digestbot/pkg/resolve"
	"github.com/digestbot/digestbot/pkg/verify"
)

// env is one test registry with a pushed image, a key pair (cosign.pub in
// dir) and a VirtualSigstore whose trusted root is dir/trusted_root.json.
type env struct {
	reg  *testregistry.Registry
	push *testsign.Pusher
	dir  string
	key  *testsign.Key
	vs   *ca.VirtualSigstore
	repo string // acme/app
	dig  string // acme/app:v1's digest
}

func setup(t testing.TB, newRegistry func(t testing.TB, opts ...testregistry.Opt) *testregistry.Registry, opts ...testregistry.Opt) *env {
	t.Helper()
	e := &env{reg: newRegistry(t, opts...), dir: t.TempDir(), repo: "acme/app"}
	e.push = testsign.NewPusher(e.reg)
	e.key = testsign.NewKey(t, e.dir, "cosign.pub")
	e.vs = testsign.NewSigstore(t)
	testsign.WriteTrustedRoot(t, e.vs, filepath.Join(e.dir, "trusted_root.json"))
	e.dig = e.reg.PushIndex(t, e.repo, "v1", "linux/amd64", "linux/arm64").Digest
	return e
}

func (e *env) image() string { return e.reg.Host() + "/" + e.repo }

// verifier writes the verify rules into dir/.digestbot.yaml and builds a
// Verifier on a Resolver's client, as the commands do.
func (e *env) verifier(t testing.TB, rules string, opts ...verify.Opt) (*verify.Verifier, *resolve.Resolver) {
	t.Helper()
	p := filepath.Join(e.dir, config.FileName)
	y := fmt.Sprintf("registries:\n  %q: {tls: disabled}\nverify:\n%s", e.reg.Host(), rules)
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := resolve.New(cfg, resolve.WithDockerConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Close() })
	v, err := verify.New(res.Client(), cfg, append([]verify.Opt{verify.WithRequestTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e.reg.ResetCounts()
	return v, res
}

func (e *env) keyRule() string {
	return fmt.Sprintf("  - images: [%q]\n    keys: [cosign.pub]\n", e.reg.Host()+"/acme/**")
}

func (e *env) keylessRule(identity string) string {
	return fmt.Sprintf("  - images: [%q]\n    keyless: {issuer: %q, identity: %q}\n    trusted-root: trusted_root.json\n", e.reg.Host()+"/acme/**", testsign.GHIssuer, identity)
}

func (e *env) verify(t *testing.T, v *verify.Verifier, dig string) verify.Result {
	t.Helper()
	if !v.Applies(e.image()) {
		t.Fatalf("no rule applies to %s", e.image())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return v.Verify(ctx, e.reg.Host(), e.repo, dig)
}

func wantVerified(t *testing.T, r verify.Result, signer, source string) {
	t.Helper()
	if !r.Verified || r.Err != nil {
		t.Fatalf("not verified: reason %q, err %v", r.Reason, r.Err)
	}
	if r.Signer != signer || !strings.HasPrefix(r.Source, source) {
		t.Errorf("signer %q source %q; want %q, %q…", r.Signer, r.Source, signer, source)
	}
}

func wantUnsigned(t *testing.T, r verify.Result, reason string) {
	t.Helper()
	if r.Verified || r.Err != nil {
		t.Fatalf("verified=%v err=%v; want unsigned (%s)", r.Verified, r.Err, reason)
	}
	if !strings.Contains(r.Reason, reason) {
		t.Errorf("reason %q; want it to say %q", r.Reason, reason)
	}
	if strings.Contains(r.Reason, "\n") {
		t.Errorf("reason is not one line: %q", r.Reason)
	}
}

// TestKeySignatures covers the .sig layout with a key, against both
// registries: signed, unsigned, another key, tampered signature and payload,
// a signature moved to another digest, and a tag that moved to an unsigned
// digest. Request counts are asserted at the registry.
func TestKeySignatures(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(t testing.TB, opts ...testregistry.Opt) *testregistry.Registry) {
		e := setup(t, newRegistry)
		other := testsign.NewKey(t, e.dir, "other.pub")
		sigTag := e.repo + ":" + verify.SignatureTag(e.dig)

		t.Run("signed", func(t *testing.T) {
			e.push.PushSigs(t, e.repo, e.dig, testsign.KeySig(t, e.key, e.image(), e.dig))
			v, res := e.verifier(t, e.keyRule())
			r := e.verify(t, v, e.dig)
			wantVerified(t, r, "key cosign.pub", "tag sha256-")
			if r.Message() != "signed with key cosign.pub" {
				t.Errorf("message %q", r.Message())
			}
			c := e.reg.Counts()
			// 1 manifest GET of the .sig tag + 1 payload blob; no referrers
			// lookup once a signature satisfies the rule.
			if c.ManifestGet[sigTag] != 1 || c.Blobs != 1 || c.Referrers != 0 || c.Total != 2 {
				t.Errorf("requests: %+v; want 1 .sig GET and 1 blob GET", c)
			}
			if s := v.Stats(); s.SigManifests != 1 || s.Payloads != 1 || s.ReferrerLists != 0 {
				t.Errorf("stats %+v", s)
			}
			if got := res.Stats().Requests; got != 2 {
				t.Errorf("resolver accounted %d requests, want the 2 verification requests", got)
			}
			// Memoised: asking again sends nothing.
			if r2 := e.verify(t, v, e.dig); !r2.Verified || e.reg.Counts().Total != 2 {
				t.Errorf("second verify: %+v, %d requests", r2, e.reg.Counts().Total)
			}
		})

		t.Run("other key", func(t *testing.T) {
			e.push.PushSigs(t, e.repo, e.dig, testsign.KeySig(t, other, e.image(), e.dig))
			v, _ := e.verifier(t, e.keyRule())
			wantUnsigned(t, e.verify(t, v, e.dig), "signature does not verify with key cosign.pub")
		})

		t.Run("either key of two", func(t *testing.T) {
			e.push.PushSigs(t, e.repo, e.dig, testsign.KeySig(t, other, e.image(), e.dig))
			v, _ := e.verifier(t, fmt.Sprintf("  - images: [%q]\n    keys: [cosign.pub, other.pub]\n", e.image()))
			wantVerified(t, e.verify(t, v, e.dig), "key other.pub", "tag ")
		})

		t.Run("tampered signature", func(t *testing.T) {
			l := testsign.KeySig(t, e.key, e.image(), e.dig)
			sig, _ := base64.StdEncoding.DecodeString(l.Annotations[verify.SignatureAnnotation])
			sig[len(sig)-3] ^= 0x40
			l.Annotations[verify.SignatureAnnotation] = base64.StdEncoding.EncodeToString(sig)
			e.push.PushSigs(t, e.repo, e.dig, l)
			v, _ := e.verifier(t, e.keyRule())
			wantUnsigned(t, e.verify(t, v, e.dig), "does not verify with key cosign.pub")
		})

		t.Run("tampered payload", func(t *testing.T) {
			l := testsign.KeySig(t, e.key, e.image(), e.dig)
			l.Payload = []byte(strings.Replace(string(l.Payload), `"optional":null`, `"optional":{"by":"mallory"}`, 1))
			e.push.PushSigs(t, e.repo, e.dig, l)
			v, _ := e.verifier(t, e.keyRule())
			wantUnsigned(t, e.verify(t, v, e.dig), "does not verify with key cosign.pub")
		})

		t.Run("signature of another digest", func(t *testing.T) {
			// A valid signature of v1, copied under v2's .sig tag.
			v2 := e.reg.PushIndex(t, e.repo, "v2", "linux/amd64").Digest
			e.push.PushSigs(t, e.repo, v2, testsign.KeySig(t, e.key, e.image(), e.dig))
			v, _ := e.verifier(t, e.keyRule())
			wantUnsigned(t, e.verify(t, v, v2), "signs "+e.dig+", not this digest")
		})

		t.Run("tag moved to an unsigned digest", func(t *testing.T) {
			e.push.PushSigs(t, e.repo, e.dig, testsign.KeySig(t, e.key, e.image(), e.dig))
			moved := e.reg.PushIndex(t, e.repo, "v1", "linux/amd64", "linux/s390x").Digest
			v, _ := e.verifier(t, e.keyRule())
			wantVerified(t, e.verify(t, v, e.dig), "key cosign.pub", "tag ")
			e.reg.ResetCounts()
			wantUnsigned(t, e.verify(t, v, moved), "no signature: neither the cosign tag "+verify.SignatureTag(moved))
			c := e.reg.Counts()
			// 1 .sig GET (404) + the referrers lookup: the API (absent here:
			// 404) then the fallback tag, or the fallback tag alone.
			if c.ManifestGet[e.repo+":"+verify.SignatureTag(moved)] != 1 || c.Blobs != 0 || c.Total > 3 {
				t.Errorf("requests for an unsigned digest: %+v; want at most 3", c)
			}
		})
	})
}

// TestKeyBundle covers Sigstore bundles attached as OCI referrers: through
// the fallback tag (both registries) and through the referrers API.
func TestKeyBundle(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(t testing.TB, opts ...testregistry.Opt) *testregistry.Registry) {
		// .sig GET (404), referrers API (404), fallback tag GET, referrer
		// manifest GET, bundle blob GET.
		keyBundleCase(t, setup(t, newRegistry), mediatype.OCI1Empty, 5)
	})
	t.Run("referrers API", func(t *testing.T) {
		t.Parallel()
		// .sig GET (404), referrers API, referrer manifest GET, bundle GET.
		keyBundleCase(t, setup(t, testregistry.New, testregistry.WithReferrersAPI()), verify.BundleArtifactType, 4)
	})
}

func keyBundleCase(t *testing.T, e *env, configType string, requests int) {
	e.push.PushBundleConfig(t, e.repo, e.dig, testsign.KeyBundle(t, e.key, e.image(), e.dig), configType)
	v, _ := e.verifier(t, e.keyRule())
	wantVerified(t, e.verify(t, v, e.dig), "key cosign.pub", "referrer sha256:")
	if c := e.reg.Counts(); c.Total != requests || c.Blobs != 1 {
		t.Errorf("requests %+v; want %d", c, requests)
	}

	// A bundle for another digest, attached to this one.
	v2 := e.reg.PushIndex(t, e.repo, "v2", "linux/amd64").Digest
	e.push.PushBundleConfig(t, e.repo, v2, testsign.KeyBundle(t, e.key, e.image(), e.dig), configType)
	v, _ = e.verifier(t, e.keyRule())
	wantUnsigned(t, e.verify(t, v, v2), "signs "+e.dig+", not this digest")

	// Signed with another key.
	v3 := e.reg.PushIndex(t, e.repo, "v3", "linux/amd64").Digest
	e.push.PushBundleConfig(t, e.repo, v3, testsign.KeyBundle(t, testsign.NewKey(t, e.dir, ""), e.image(), v3), configType)
	v, _ = e.verifier(t, e.keyRule())
	wantUnsigned(t, e.verify(t, v, v3), "does not verify with key cosign.pub")
}

// TestKeyless covers certificates from a test CA standing in for Fulcio,
// logged by a test transparency log, against a trusted_root.json built from
// them — in both layouts.
func TestKeyless(t *testing.T) {
	t.Parallel()
	e := setup(t, testregistry.New)
	glob := "https://github.com/acme/app/.github/workflows/*"
	stranger := testsign.NewSigstore(t) // a CA the trusted root does not list

	for _, tc := range []struct {
		name     string
		push     func(dig string)
		rule     string
		verified bool
		reason   string
	}{
		{"tag layout", func(d string) {
			e.push.PushSigs(t, e.repo, d, testsign.KeylessSig(t, e.vs, testsign.GHIdentity, testsign.GHIssuer, e.image(), d))
		}, e.keylessRule(glob), true, ""},
		{"bundle", func(d string) {
			e.push.PushBundle(t, e.repo, d, testsign.KeylessBundle(t, e.vs, testsign.GHIdentity, testsign.GHIssuer, e.image(), d))
		}, e.keylessRule(glob), true, ""},
		{"exact identity", func(d string) {
			e.push.PushSigs(t, e.repo, d, testsign.KeylessSig(t, e.vs, testsign.GHIdentity, testsign.GHIssuer, e.image(), d))
		}, e.keylessRule(testsign.GHIdentity), true, ""},
		{"identity regexp", func(d string) {
			e.push.PushSigs(t, e.repo, d, testsign.KeylessSig(t, e.vs, testsign.GHIdentity, testsign.GHIssuer, e.image(), d))
		},
			fmt.Sprintf("  - images: [%q]\n    keyless: {issuer: %q, identity-regexp: '^https://github\\.com/acme/[^/]+/\\.github/workflows/release\\.yml@refs/heads/main$'}\n    trusted-root: trusted_root.json\n", e.image(), testsign.GHIssuer), true, ""},
		{"other SAN", func(d string) {
			e.push.PushSigs(t, e.repo, d, testsign.KeylessSig(t, e.vs, "https://github.com/mallory/app/.github/workflows/x.yml@refs/heads/main", testsign.GHIssuer, e.image(), d))
		}, e.keylessRule(glob), false, "signed by https://github.com/mallory/app/.github/workflows/x.yml@refs/heads/main (issuer " + testsign.GHIssuer + "), not identity " + glob},
		{"other issuer", func(d string) {
			e.push.PushSigs(t, e.repo, d, testsign.KeylessSig(t, e.vs, testsign.GHIdentity, "https://accounts.example.com", e.image(), d))
		}, e.keylessRule(glob), false, "(issuer https://accounts.example.com), not identity"},
		{"other SAN, bundle", func(d string) {
			e.push.PushBundle(t, e.repo, d, testsign.KeylessBundle(t, e.vs, "https://github.com/mallory/app/.github/workflows/x.yml@refs/heads/main", testsign.GHIssuer, e.image(), d))
		}, e.keylessRule(glob), false, "not identity " + glob},
		{"untrusted CA", func(d string) {
			e.push.PushSigs(t, e.repo, d, testsign.KeylessSig(t, stranger, testsign.GHIdentity, testsign.GHIssuer, e.image(), d))
		}, e.keylessRule(glob), false, "does not verify"},
		{"untrusted CA, bundle", func(d string) {
			e.push.PushBundle(t, e.repo, d, testsign.KeylessBundle(t, stranger, testsign.GHIdentity, testsign.GHIssuer, e.image(), d))
		}, e.keylessRule(glob), false, "does not verify"},
		{"key signature, keyless rule", func(d string) { e.push.PushSigs(t, e.repo, d, testsign.KeySig(t, e.key, e.image(), d)) }, e.keylessRule(glob), false, "signed with a key, but the rule accepts only keyless"},
		{"keyless signature, key rule", func(d string) {
			e.push.PushSigs(t, e.repo, d, testsign.KeylessSig(t, e.vs, testsign.GHIdentity, testsign.GHIssuer, e.image(), d))
		}, e.keyRule(), false, "keyless signature, but the rule accepts only key cosign.pub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A digest of its own per case (cases share the registry).
			d := e.reg.PushImage(t, e.repo, strings.NewReplacer(" ", "-", ",", "").Replace(tc.name), testregistry.Labels(map[string]string{"case": tc.name})).Digest
			tc.push(d)
			v, _ := e.verifier(t, tc.rule)
			r := e.verify(t, v, d)
			if tc.verified {
				wantVerified(t, r, testsign.GHIdentity, "")
				if r.Issuer != testsign.GHIssuer || !strings.Contains(r.Message(), "signed by "+testsign.GHIdentity+" (issuer "+testsign.GHIssuer+")") {
					t.Errorf("issuer %q message %q", r.Issuer, r.Message())
				}
				return
			}
			wantUnsigned(t, r, tc.reason)
		})
	}
}

// TestLookupFailure: a registry that fails leaves the digest neither
// verified nor refuted, after one retry.
func TestLookupFailure(t *testing.T) {
	t.Parallel()
	var fails atomic.Int64
	e := setup(t, testregistry.New, testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ".sig") {
				fails.Add(1)
				http.Error(w, "boom", http.StatusBadGateway)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	e.push.PushSigs(t, e.repo, e.dig, testsign.KeySig(t, e.key, e.image(), e.dig))
	v, _ := e.verifier(t, e.keyRule(), verify.WithRetry(2, time.Millisecond))
	r := e.verify(t, v, e.dig)
	if r.Verified || !errors.Is(r.Err, verify.ErrLookup) || !strings.Contains(r.Err.Error(), "HTTP 502") {
		t.Fatalf("result %+v; want ErrLookup naming HTTP 502", r)
	}
	if n := fails.Load(); n != 2 {
		t.Errorf("%d attempts at the .sig tag, want 2 (one retry)", n)
	}
}

// TestBounds: a .sig tag with more layers than MaxSignatures costs at most
// MaxSignatures payload GETs.
func TestBounds(t *testing.T) {
	t.Parallel()
	e := setup(t, testregistry.New)
	var layers []testsign.Layer
	for range verify.MaxSignatures + 3 {
		layers = append(layers, testsign.KeySig(t, testsign.NewKey(t, e.dir, ""), e.image(), e.dig))
	}
	e.push.PushSigs(t, e.repo, e.dig, layers...)
	v, _ := e.verifier(t, e.keyRule())
	wantUnsigned(t, e.verify(t, v, e.dig), fmt.Sprintf("more than %d signatures", verify.MaxSignatures))
	if c := e.reg.Counts(); c.Blobs != verify.MaxSignatures {
		t.Errorf("%d blob GETs, want %d", c.Blobs, verify.MaxSignatures)
	}
}

// TestNotApplied: images no rule matches are never verified.
func TestNotApplied(t *testing.T) {
	t.Parallel()
	e := setup(t, testregistry.New)
	v, _ := e.verifier(t, fmt.Sprintf("  - images: [%q]\n    keys: [cosign.pub]\n", e.reg.Host()+"/other/*"))
	if v.Applies(e.image()) {
		t.Fatal("rule for other/* applies to acme/app")
	}
	if r := v.Verify(context.Background(), e.reg.Host(), e.repo, e.dig); r.Err == nil || r.Verified {
		t.Errorf("Verify without a rule: %+v", r)
	}
	if c := e.reg.Counts(); c.Total != 0 {
		t.Errorf("%d requests for an image no rule matches", c.Total)
	}
	var nilV *verify.Verifier
	if nilV.Applies("docker.io/library/nginx") {
		t.Error("nil Verifier applies")
	}
}

// TestPublicGoodRootUnavailable: without a trusted-root file the root comes
// through TUF; when that fails the verdict is an error, within the deadline,
// fetched once per run.
func TestPublicGoodRootUnavailable(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	tufSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(tufSrv.Close)
	e := setup(t, testregistry.New)
	e.push.PushSigs(t, e.repo, e.dig, testsign.KeylessSig(t, e.vs, testsign.GHIdentity, testsign.GHIssuer, e.image(), e.dig))
	rule := fmt.Sprintf("  - images: [%q]\n    keyless: {issuer: %q, identity: %q}\n", e.image(), testsign.GHIssuer, testsign.GHIdentity)
	v, _ := e.verifier(t, rule, verify.WithTUF(tufSrv.URL, 5*time.Second))
	start := time.Now()
	r := e.verify(t, v, e.dig)
	if !errors.Is(r.Err, verify.ErrTrustedRoot) || r.Verified || !strings.Contains(r.Err.Error(), "trusted-root file") {
		t.Fatalf("result %+v; want ErrTrustedRoot saying to give a trusted-root file", r)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	first := hits.Load()
	v2 := e.reg.PushImage(t, e.repo, "v2").Digest
	e.push.PushSigs(t, e.repo, v2, testsign.KeylessSig(t, e.vs, testsign.GHIdentity, testsign.GHIssuer, e.image(), v2))
	if r := e.verify(t, v, v2); !errors.Is(r.Err, verify.ErrTrustedRoot) {
		t.Errorf("second digest: %+v", r)
	}
	if hits.Load() != first {
		t.Errorf("TUF asked again (%d → %d requests): the root is fetched once per run", first, hits.Load())
	}
}

// TestPolicyErrors: bad key and trusted-root files are configuration
// errors naming the config file, the rule and the file.
func TestPolicyErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	testsign.NewKey(t, dir, "good.pub")
	must := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must("bad.pub", "not a key\n")
	must("root.json", `{"mediaType": "nope"}`)
	must("empty-root.json", `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
	for rule, want := range map[string]string{
		"keys: [missing.pub]": "verify[0] (images ghcr.io/acme/**): key missing.pub: no such file",
		"keys: [bad.pub]":     "key bad.pub holds no PEM public key",
		"keyless: {issuer: https://x, identity: y}\n    trusted-root: root.json":       "trusted-root root.json is not a Sigstore trusted_root.json",
		"keyless: {issuer: https://x, identity: y}\n    trusted-root: empty-root.json": "lists no certificate authority",
		"keyless: {issuer: https://x, identity: y}\n    trusted-root: nowhere.json":    "trusted-root nowhere.json: no such file",
	} {
		p := filepath.Join(dir, config.FileName)
		must(config.FileName, "verify:\n  - images: [ghcr.io/acme/**]\n    "+rule+"\n")
		cfg, err := config.Load(p)
		if err != nil {
			t.Fatalf("%s: %v", rule, err)
		}
		_, err = verify.New(nil, cfg)
		if !errors.Is(err, verify.ErrPolicy) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s:\n got %v\nwant %s naming %s", rule, err, want, p)
		}
	}
	// A good rule without a registry client is a caller bug, said so.
	must(config.FileName, "verify:\n  - images: [ghcr.io/acme/**]\n    keys: [good.pub]\n")
	cfg, err := config.Load(filepath.Join(dir, config.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.New(nil, cfg); !errors.Is(err, verify.ErrPolicy) {
		t.Errorf("nil registry: %v", err)
	}
	if v, err := verify.New(nil, config.Default()); err != nil || v.Applies("ghcr.io/acme/app") {
		t.Errorf("no rules: %v, %v", v, err)
	}
}
