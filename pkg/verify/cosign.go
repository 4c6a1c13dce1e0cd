package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/digestbot/digestbot/pkg/resolve"
)

// verify finds registry/repository@dig's signatures and checks them against
// r, stopping at the first that satisfies it (see the package comment for
// the order and the cost).
func (v *Verifier) verify(ctx context.Context, r *rule, registry, repository, dig string) Result {
	name := registry + "/" + repository
	// Built from the parts, never by parsing text again (as resolve does).
	repo, err := resolve.Key{Registry: registry, Repository: repository}.Ref()
	if err != nil {
		return Result{Err: fmt.Errorf("%w: %s is not a valid repository: %v", ErrLookup, name, err)}
	}
	d, err := digest.Parse(dig)
	if err != nil {
		return Result{Err: fmt.Errorf("%w: %s@%s: invalid digest", ErrLookup, name, dig)}
	}
	var (
		found    int
		reasons  []string
		lookErrs []string
	)
	fail := func(reason string) {
		for _, r := range reasons {
			if r == reason {
				return
			}
		}
		reasons = append(reasons, reason)
	}
	lookup := func(what string, err error) {
		lookErrs = append(lookErrs, what+": "+describeErr(ctx, err))
	}
	try := func(c candidate) (Result, bool, error) {
		res, reason, err := v.check(ctx, r, c)
		if err != nil {
			return Result{}, false, err
		}
		if res.Verified {
			return res, true, nil
		}
		fail(reason)
		return Result{}, false, nil
	}

	// 1–2: the .sig tag's simple-signing layers.
	tag := SignatureTag(dig)
	layers, err := v.sigManifest(ctx, repo, dig)
	if err != nil {
		lookup("tag "+tag, err)
	}
	checked := 0
	for _, l := range layers {
		if l.MediaType != SimpleSigningMediaType || l.Annotations[SignatureAnnotation] == "" {
			continue
		}
		found++
		_, hasCert := l.Annotations[CertificateAnnotation]
		if hasCert && r.keyless == nil {
			fail("keyless signature, but the rule accepts only " + r.keysDesc())
			continue
		}
		if !hasCert && len(r.keys) == 0 {
			fail("signed with a key, but the rule accepts only keyless signatures of " + r.keyless.desc)
			continue
		}
		if checked == MaxSignatures {
			fail(fmt.Sprintf("more than %d signatures under %s; only the first %d were checked", MaxSignatures, tag, MaxSignatures))
			break
		}
		checked++
		payload, err := v.readBlob(ctx, repo, l, maxPayloadSize, func() { v.stats.payloads.Add(1) })
		if err != nil {
			if errors.Is(err, errTooBig) || errors.Is(err, errMismatch) {
				fail("signature payload under " + tag + " " + describeErr(ctx, err))
			} else {
				lookup("signature payload "+l.Digest.String(), err)
			}
			continue
		}
		c, reason := simpleSigningCandidate(l, payload, d, tag)
		if reason != "" {
			fail(reason)
			continue
		}
		res, ok, err := try(c)
		if err != nil {
			return Result{Err: err}
		}
		if ok {
			return res
		}
	}

	// 3–4: Sigstore bundles attached as referrers.
	refs, err := v.bundleReferrers(ctx, repo, dig)
	if err != nil {
		lookup("referrers", err)
	}
	for i, rd := range refs {
		found++
		if i == MaxBundles {
			fail(fmt.Sprintf("more than %d Sigstore bundles refer to the digest; only the first %d were checked", MaxBundles, MaxBundles))
			break
		}
		src := "referrer " + rd.Digest.String()
		layer, err := v.bundleLayer(ctx, repo, rd)
		if err != nil {
			switch {
			case errors.Is(err, errMalformed):
				fail(strings.TrimPrefix(err.Error(), errMalformed.Error()+": "))
			case notFound(err):
				fail(src + " is listed but does not exist")
			default:
				lookup(src, err)
			}
			continue
		}
		raw, err := v.readBlob(ctx, repo, layer, maxBundleSize, func() { v.stats.bundles.Add(1) })
		if err != nil {
			if errors.Is(err, errTooBig) || errors.Is(err, errMismatch) {
				fail("bundle of " + src + " " + describeErr(ctx, err))
			} else {
				lookup("bundle of "+src, err)
			}
			continue
		}
		c, reason := bundleCandidate(raw, d, src)
		if reason != "" {
			fail(reason)
			continue
		}
		res, ok, err := try(c)
		if err != nil {
			return Result{Err: err}
		}
		if ok {
			return res
		}
	}

	if len(lookErrs) > 0 {
		// What could not be read might have held a valid signature.
		return Result{Err: fmt.Errorf("%w: %s@%s: %s", ErrLookup, name, dig, strings.Join(lookErrs, "; ")), Reason: strings.Join(reasons, "; ")}
	}
	if found == 0 {
		return Result{Reason: "no signature: neither the cosign tag " + tag + " nor a Sigstore bundle referrer exists"}
	}
	return Result{Reason: "no signature satisfies the policy: " + truncate(strings.Join(reasons, "; "), 600)}
}

// simplePayload reads the fields of cosign's simple-signing payload that
// are checked, with exact key names: encoding/json's struct decoding
// matches keys case-insensitively ("CRITICAL" would do), and a signed
// document must mean one thing to every reader.
func simplePayload(payload []byte) (typ, dig string, err error) {
	var top, crit, img map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil {
		return "", "", err
	}
	if err := json.Unmarshal(top["critical"], &crit); err != nil {
		return "", "", fmt.Errorf("critical: %w", err)
	}
	if err := json.Unmarshal(crit["image"], &img); err != nil {
		return "", "", fmt.Errorf("critical.image: %w", err)
	}
	if err := json.Unmarshal(crit["type"], &typ); err != nil {
		return "", "", fmt.Errorf("critical.type: %w", err)
	}
	if err := json.Unmarshal(img["docker-manifest-digest"], &dig); err != nil {
		return "", "", fmt.Errorf("critical.image.docker-manifest-digest: %w", err)
	}
	return typ, dig, nil
}

// rekorBundle is cosign's dev.sigstore.cosign/bundle annotation.
type rekorBundle struct {
	SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}

// simpleSigningCandidate reads one layer of a .sig manifest. The payload
// must name d; the signature, certificate and Rekor bundle come from the
// layer's annotations (nothing in them is trusted until sigstore-go
// verified it).
func simpleSigningCandidate(l descriptor.Descriptor, payload []byte, d digest.Digest, tag string) (candidate, string) {
	typ, signed, err := simplePayload(payload)
	if err != nil {
		return candidate{}, "a signature payload under " + tag + " is not simple-signing JSON (" + truncate(oneLine(err), 120) + ")"
	}
	if typ != "cosign container image signature" {
		return candidate{}, fmt.Sprintf("a signature payload under %s has type %q, not a cosign container image signature", tag, truncate(typ, 80))
	}
	if signed != d.String() {
		return candidate{}, "a signature under " + tag + " signs " + truncate(signed, 80) + ", not this digest"
	}
	sig, err := base64.StdEncoding.DecodeString(l.Annotations[SignatureAnnotation])
	if err != nil {
		return candidate{}, "a signature under " + tag + " is not base64"
	}
	e := &simpleSig{payload: payload, sig: sig}
	c := candidate{entity: e, source: "tag " + tag, artifact: func() sgverify.ArtifactPolicyOption {
		return sgverify.WithArtifact(bytes.NewReader(payload))
	}}
	if pemCert := l.Annotations[CertificateAnnotation]; pemCert != "" {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(pemCert))
		if err != nil || len(certs) == 0 {
			return candidate{}, "a signature under " + tag + " carries a certificate that does not parse"
		}
		e.cert, c.cert = certs[0], certs[0]
		if b := l.Annotations[BundleAnnotation]; b != "" {
			entry, err := parseRekorBundle(b)
			if err != nil {
				return candidate{}, "a signature under " + tag + " carries a Rekor bundle that does not parse: " + oneLine(err)
			}
			e.entries = []*tlog.Entry{entry}
		}
	}
	return c, ""
}

func parseRekorBundle(s string) (*tlog.Entry, error) {
	var rb rekorBundle
	if err := json.Unmarshal([]byte(s), &rb); err != nil {
		return nil, err
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("logID: %w", err)
	}
	// NewEntry is deprecated for NewTlogEntry, which tries the body as a
	// Rekor v2 entry first; cosign's bundle annotation only ever holds a
	// Rekor v1 entry, which is exactly what NewEntry parses.
	//lint:ignore SA1019 see above
	return tlog.NewEntry(body, rb.Payload.IntegratedTime, rb.Payload.LogIndex, logID, rb.SignedEntryTimestamp, nil)
}

// simpleSig is a cosign simple-signing signature as a sigstore-go signed
// entity: a message signature over the payload, verified with a key or a
// certificate, with the Rekor entry the bundle annotation carries.
type simpleSig struct {
	payload, sig []byte
	cert         *x509.Certificate
	entries      []*tlog.Entry
}

var _ sgverify.SignedEntity = (*simpleSig)(nil)

func (s *simpleSig) VerificationContent() (sgverify.VerificationContent, error) {
	if s.cert != nil {
		return bundle.NewCertificate(s.cert), nil
	}
	return keyContent{}, nil
}

func (s *simpleSig) SignatureContent() (sgverify.SignatureContent, error) {
	sum := sha256.Sum256(s.payload)
	return bundle.NewMessageSignature(sum[:], "SHA2_256", s.sig), nil
}

func (s *simpleSig) TlogEntries() ([]*tlog.Entry, error) { return s.entries, nil }
func (s *simpleSig) Timestamps() ([][]byte, error)       { return nil, nil }
func (s *simpleSig) HasInclusionPromise() bool           { return len(s.entries) > 0 }
func (s *simpleSig) HasInclusionProof() bool             { return false }

// Version "v0.1": the layout predates bundles; an inclusion promise (the
// signed entry timestamp) is what it carries.
func (s *simpleSig) Version() (string, error) { return "v0.1", nil }

// keyContent is the verification content of a key signature: the rule's
// key, whatever hint (none, in the .sig layout).
type keyContent struct{}

func (keyContent) CompareKey(key any, tm root.TrustedMaterial) bool {
	v, err := tm.PublicKeyVerifier("")
	if err != nil {
		return false
	}
	pub, err := v.PublicKey()
	if err != nil {
		return false
	}
	return cryptoutils.EqualKeys(pub, key) == nil
}

func (keyContent) ValidAtTime(t time.Time, tm root.TrustedMaterial) bool {
	v, err := tm.PublicKeyVerifier("")
	return err == nil && v.ValidAtTime(t)
}

func (keyContent) Certificate() *x509.Certificate        { return nil }
func (keyContent) Intermediates() []*x509.Certificate    { return nil }
func (keyContent) PublicKey() sgverify.PublicKeyProvider { return keyHint{} }

type keyHint struct{}

func (keyHint) Hint() string { return "" }

// bundleCandidate parses a Sigstore bundle; sigstore-go checks that its
// statement subject (or signed digest) is d.
func bundleCandidate(raw []byte, d digest.Digest, src string) (candidate, string) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return candidate{}, "bundle " + src + " is not a valid Sigstore bundle: " + truncate(oneLine(err), 200)
	}
	want, err := hex.DecodeString(d.Encoded())
	if err != nil {
		return candidate{}, "invalid digest"
	}
	alg := string(d.Algorithm())
	// Say which digest a bundle signs when it is not this one (sigstore-go
	// refuses it too, in words that do not say so).
	if signs := bundleSubjects(&b); len(signs) > 0 && !slices.Contains(signs, d.String()) {
		return candidate{}, "bundle " + src + " signs " + truncate(strings.Join(signs, ", "), 160) + ", not this digest"
	}
	c := candidate{entity: &b, source: src, artifact: func() sgverify.ArtifactPolicyOption {
		return sgverify.WithArtifactDigest(alg, want)
	}}
	vc, err := b.VerificationContent()
	if err != nil {
		return candidate{}, "bundle " + src + " has no verification material"
	}
	c.cert = vc.Certificate()
	return c, ""
}

// bundleSubjects lists the digests a bundle claims to sign, read before
// verification for messages only: the DSSE statement's subjects, or the
// message signature's digest.
func bundleSubjects(b *bundle.Bundle) []string {
	sc, err := b.SignatureContent()
	if err != nil {
		return nil
	}
	if ms := sc.MessageSignatureContent(); ms != nil {
		alg := map[string]string{"SHA2_256": "sha256", "SHA2_512": "sha512"}[ms.DigestAlgorithm()]
		if alg == "" {
			return nil
		}
		return []string{alg + ":" + hex.EncodeToString(ms.Digest())}
	}
	env := sc.EnvelopeContent()
	if env == nil {
		return nil
	}
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	raw := env.RawEnvelope()
	if raw == nil {
		return nil
	}
	payload, err := base64.StdEncoding.DecodeString(raw.Payload)
	if err != nil || json.Unmarshal(payload, &st) != nil {
		return nil
	}
	var out []string
	for _, s := range st.Subject {
		for alg, h := range s.Digest {
			out = append(out, alg+":"+h)
		}
	}
	return out
}
