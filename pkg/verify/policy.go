package verify

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/digestbot/digestbot/pkg/config"
)

// maxKeyFile bounds the key and trusted-root files read (a PEM key is a few
// hundred bytes; the public-good trusted_root.json is about 10 KiB).
const maxKeyFile = 1 << 20

// rule is a compiled config.VerifyRule.
type rule struct {
	keys    []*ruleKey
	keyless *keylessRule
}

type ruleKey struct {
	name     string // as the config writes it
	verifier *sgverify.Verifier
}

type keylessRule struct {
	id   sgverify.CertificateIdentity
	desc string               // "identity …, issuer …" for messages
	tm   root.TrustedMaterial // from the trusted-root file; nil: public-good via TUF
}

func compileRule(_ int, rc config.VerifyRule, dir string) (*rule, error) {
	r := &rule{}
	for _, name := range rc.Keys {
		k, err := loadKey(name, dir)
		if err != nil {
			return nil, err
		}
		r.keys = append(r.keys, k)
	}
	if kl := rc.Keyless; kl.Set() {
		san, sanRe := kl.Identity, kl.IdentityRegexp
		if san != "" && strings.ContainsAny(san, "*?") {
			san, sanRe = "", globRegexp(san)
		}
		id, err := sgverify.NewShortCertificateIdentity(kl.Issuer, kl.IssuerRegexp, san, sanRe)
		if err != nil {
			return nil, fmt.Errorf("keyless: %v", err)
		}
		k := &keylessRule{id: id, desc: describeIdentity(kl)}
		if rc.TrustedRoot != "" {
			p := rc.TrustedRoot
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			raw, err := readSmall(p)
			if err != nil {
				return nil, fmt.Errorf("trusted-root %s: %v", rc.TrustedRoot, err)
			}
			tr, err := root.NewTrustedRootFromJSON(raw)
			if err != nil {
				return nil, fmt.Errorf("trusted-root %s is not a Sigstore trusted_root.json: %v", rc.TrustedRoot, oneLine(err))
			}
			if len(tr.FulcioCertificateAuthorities()) == 0 || len(tr.RekorLogs()) == 0 {
				return nil, fmt.Errorf("trusted-root %s lists no certificate authority or no transparency log; keyless signatures cannot be checked with it", rc.TrustedRoot)
			}
			k.tm = tr
		}
		r.keyless = k
	}
	return r, nil
}

// loadKey reads a cosign public key file (PEM) and builds a verifier that
// trusts exactly that key, whatever key hint a signature carries.
func loadKey(name, dir string) (*ruleKey, error) {
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	raw, err := readSmall(p)
	if err != nil {
		return nil, fmt.Errorf("key %s: %v", name, err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("key %s holds no PEM public key (%v); give the cosign.pub that `cosign generate-key-pair` wrote", name, oneLine(err))
	}
	// SHA-256, as cosign verifies with a key file.
	sv, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("key %s: unsupported key: %v", name, oneLine(err))
	}
	tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(sv, time.Time{}, time.Time{}), nil
	})
	v, err := sgverify.NewVerifier(tm, sgverify.WithNoObserverTimestamps())
	if err != nil {
		return nil, fmt.Errorf("key %s: %v", name, err)
	}
	return &ruleKey{name: keyName(name), verifier: v}, nil
}

func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no such file (%s)", p)
		}
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxKeyFile {
		return nil, fmt.Errorf("larger than %d bytes", maxKeyFile)
	}
	return raw, nil
}

// globRegexp turns an identity glob into an anchored regexp: '*' matches
// any run of characters ('/' included: a SAN is a URL, not a path), '?'
// one character, everything else itself.
func globRegexp(g string) string {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range g {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return b.String()
}

func describeIdentity(k config.Keyless) string {
	id := k.Identity
	if id == "" {
		id = "/" + k.IdentityRegexp + "/"
	}
	iss := k.Issuer
	if iss == "" {
		iss = "/" + k.IssuerRegexp + "/"
	}
	return "identity " + id + " (issuer " + iss + ")"
}

func (r *rule) keysDesc() string {
	names := make([]string, len(r.keys))
	for i, k := range r.keys {
		names[i] = k.name
	}
	if len(names) == 1 {
		return "key " + names[0]
	}
	return "keys " + strings.Join(names, ", ")
}

// candidate is one signature found for a digest.
type candidate struct {
	entity   sgverify.SignedEntity
	artifact func() sgverify.ArtifactPolicyOption // fresh per verification (readers are consumed)
	cert     *x509.Certificate                    // nil for a key signature
	source   string
}

// check decides whether c satisfies r. It returns a verified Result, or
// the reason it does not; err only when the trusted root is unavailable.
func (v *Verifier) check(ctx context.Context, r *rule, c candidate) (Result, string, error) {
	if c.cert == nil {
		if len(r.keys) == 0 {
			return Result{}, "signed with a key, but the rule accepts only keyless signatures of " + r.keyless.desc, nil
		}
		for _, k := range r.keys {
			if _, err := k.verifier.Verify(c.entity, sgverify.NewPolicy(c.artifact(), sgverify.WithKey())); err == nil {
				return Result{Verified: true, Signer: "key " + k.name, Source: c.source}, "", nil
			}
		}
		if len(r.keys) == 1 {
			return Result{}, "signature does not verify with " + r.keysDesc() + " (signed with another key, or altered)", nil
		}
		return Result{}, "signature verifies with none of " + r.keysDesc() + " (signed with another key, or altered)", nil
	}
	sum, err := certificate.SummarizeCertificate(c.cert)
	if err != nil {
		return Result{}, "certificate cannot be read: " + oneLine(err), nil
	}
	who := sum.SubjectAlternativeName + " (issuer " + sum.Issuer + ")"
	if r.keyless == nil {
		return Result{}, "keyless signature by " + who + ", but the rule accepts only " + r.keysDesc(), nil
	}
	if err := r.keyless.id.Verify(sum); err != nil {
		return Result{}, "signed by " + who + ", not " + r.keyless.desc, nil
	}
	tm := r.keyless.tm
	if tm == nil {
		if tm, err = v.publicGoodRoot(ctx); err != nil {
			return Result{}, "", err
		}
	}
	opts := []sgverify.VerifierOption{sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1)}
	if len(tm.CTLogs()) > 0 {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	sv, err := sgverify.NewVerifier(tm, opts...)
	if err != nil {
		return Result{}, "", fmt.Errorf("%w: %v", ErrTrustedRoot, err)
	}
	if _, err := sv.Verify(c.entity, sgverify.NewPolicy(c.artifact(), sgverify.WithCertificateIdentity(r.keyless.id))); err != nil {
		return Result{}, "keyless signature by " + who + " does not verify: " + oneLine(err), nil
	}
	return Result{Verified: true, Signer: sum.SubjectAlternativeName, Issuer: sum.Issuer, Source: c.source}, "", nil
}

type trustedRoot struct{ tm root.TrustedMaterial }

// publicGoodRoot fetches the Sigstore public-good trusted root through TUF
// once per run, within the TUF deadline and the caller's; nothing is
// cached on disk.
func (v *Verifier) publicGoodRoot(ctx context.Context) (root.TrustedMaterial, error) {
	tr, err := v.tufRoot.Get("", func() (trustedRoot, error) {
		ctx, cancel := context.WithTimeout(ctx, v.o.tufTimeout)
		defer cancel()
		opts := tuf.DefaultOptions()
		opts.DisableLocalCache = true
		opts.CachePath = ""
		opts.Fetcher = &ctxFetcher{ctx: ctx, ua: v.o.userAgent}
		if v.o.tufURL != "" {
			opts.RepositoryBaseURL = v.o.tufURL
		}
		type answer struct {
			tr  *root.TrustedRoot
			err error
		}
		ch := make(chan answer, 1)
		go func() {
			c, err := tuf.New(opts)
			if err != nil {
				ch <- answer{err: err}
				return
			}
			tr, err := root.GetTrustedRoot(c)
			ch <- answer{tr, err}
		}()
		select {
		case <-ctx.Done():
			return trustedRoot{}, fmt.Errorf("%w: fetching the Sigstore public-good root from %s took too long; give the rule a trusted-root file for offline runs", ErrTrustedRoot, opts.RepositoryBaseURL)
		case a := <-ch:
			if a.err != nil {
				return trustedRoot{}, fmt.Errorf("%w: the Sigstore public-good root could not be fetched from %s (%v); give the rule a trusted-root file for offline runs", ErrTrustedRoot, opts.RepositoryBaseURL, truncate(oneLine(a.err), 200))
			}
			return trustedRoot{a.tr}, nil
		}
	})
	return tr.tm, err
}

// ctxFetcher is a TUF fetcher whose requests end with the run's context.
type ctxFetcher struct {
	ctx context.Context
	ua  string
}

func (f *ctxFetcher) DownloadFile(u string, maxLength int64, _ time.Duration) ([]byte, error) {
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if f.ua != "" {
		req.Header.Set("User-Agent", f.ua)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// TUF reads 404 as "no newer root version": keep its error type.
		return nil, &metadata.ErrDownloadHTTP{StatusCode: resp.StatusCode, URL: u}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxLength+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is larger than %d bytes", u, maxLength)}
	}
	return data, nil
}

// oneLine flattens an error text for a one-line message.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
