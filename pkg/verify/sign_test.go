package verify_test

// Signing helpers: sign test images in-process the way cosign does, and
// push the signatures in cosign's two layouts.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient"
	rcconfig "github.com/regclient/regclient/config"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/regclient/regclient/types/manifest"
	"github.com/regclient/regclient/types/mediatype"
	v1 "github.com/regclient/regclient/types/oci/v1"
	"github.com/regclient/regclient/types/ref"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
	"github.com/digestbot/digestbot/pkg/verify"
)

// keyPair is an ECDSA P-256 key pair, as `cosign generate-key-pair` makes.
type keyPair struct {
	priv *ecdsa.PrivateKey
}

// newKey generates a key pair and writes its public key (PEM) to dir/name.
func newKey(t testing.TB, dir, name string) *keyPair {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if name != "" {
		p := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		if err := os.WriteFile(filepath.Join(dir, name), p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &keyPair{priv: priv}
}

// sign signs data as cosign does with a key: ECDSA over its SHA-256.
func (k *keyPair) sign(t testing.TB, data []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// payloadFor is cosign's simple-signing payload for image@dig.
func payloadFor(image, dig string) []byte {
	return fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, image, dig)
}

// sigLayer is one layer of a .sig manifest.
type sigLayer struct {
	payload []byte
	ann     map[string]string
}

// keySig is a key signature of image@dig in the .sig layout.
func keySig(t testing.TB, k *keyPair, image, dig string) sigLayer {
	p := payloadFor(image, dig)
	return sigLayer{payload: p, ann: map[string]string{verify.SignatureAnnotation: base64.StdEncoding.EncodeToString(k.sign(t, p))}}
}

// pusher pushes blobs and manifests with regclient, as cosign and oras do.
type pusher struct {
	rc   *regclient.RegClient
	host string
}

func newPusher(reg *testregistry.Registry) *pusher {
	return &pusher{
		rc:   regclient.New(regclient.WithConfigHost(rcconfig.Host{Name: reg.PushHost(), TLS: rcconfig.TLSDisabled})),
		host: reg.PushHost(),
	}
}

func (p *pusher) ref(t testing.TB, repo string) ref.Ref {
	t.Helper()
	r, err := ref.New(p.host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (p *pusher) blob(t testing.TB, repo, mediaType string, raw []byte, ann map[string]string) descriptor.Descriptor {
	t.Helper()
	d := descriptor.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(raw), Size: int64(len(raw)), Annotations: ann}
	if _, err := p.rc.BlobPut(context.Background(), p.ref(t, repo), d, bytes.NewReader(raw)); err != nil {
		t.Fatalf("push blob: %v", err)
	}
	return d
}

var emptyJSON = []byte("{}")

// pushSigs stores layers as the .sig manifest of repo@dig (replacing any).
func (p *pusher) pushSigs(t testing.TB, repo, dig string, layers ...sigLayer) {
	t.Helper()
	m := v1.Manifest{
		Versioned: v1.ManifestSchemaVersion,
		MediaType: mediatype.OCI1Manifest,
		Config:    p.blob(t, repo, mediatype.OCI1ImageConfig, emptyJSON, nil),
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, p.blob(t, repo, verify.SimpleSigningMediaType, l.payload, l.ann))
	}
	p.putManifest(t, p.ref(t, repo).SetTag(verify.SignatureTag(dig)), m)
}

func (p *pusher) putManifest(t testing.TB, r ref.Ref, orig v1.Manifest) {
	t.Helper()
	m, err := manifest.New(manifest.WithOrig(orig))
	if err != nil {
		t.Fatal(err)
	}
	if r.Tag == "" && r.Digest == "" {
		r = r.SetDigest(m.GetDescriptor().Digest.String())
	}
	if err := p.rc.ManifestPut(context.Background(), r, m); err != nil {
		t.Fatalf("push manifest %s: %v", r.CommonName(), err)
	}
}

// pushBundle attaches a Sigstore bundle to repo@dig as an OCI referrer, as
// cosign 3 does (regclient updates the fallback tag on registries without
// the referrers API).
//
// configType is the referrer's config media type: OCI's empty config, as
// cosign writes, or the bundle type for go-containerregistry's in-process
// referrers API, which reports the config media type as the artifactType
// instead of the manifest's artifactType (the pre-1.1 convention).
func (p *pusher) pushBundle(t testing.TB, repo, dig string, bundleJSON []byte) {
	t.Helper()
	p.pushBundleConfig(t, repo, dig, bundleJSON, mediatype.OCI1Empty)
}

func (p *pusher) pushBundleConfig(t testing.TB, repo, dig string, bundleJSON []byte, configType string) {
	t.Helper()
	subj, err := p.rc.ManifestHead(context.Background(), p.ref(t, repo).SetDigest(dig), regclient.WithManifestRequireDigest())
	if err != nil {
		t.Fatal(err)
	}
	sd := subj.GetDescriptor()
	m := v1.Manifest{
		Versioned:    v1.ManifestSchemaVersion,
		MediaType:    mediatype.OCI1Manifest,
		ArtifactType: verify.BundleArtifactType,
		Config:       p.blob(t, repo, configType, emptyJSON, nil),
		Layers:       []descriptor.Descriptor{p.blob(t, repo, verify.BundleArtifactType, bundleJSON, nil)},
		Subject:      &descriptor.Descriptor{MediaType: sd.MediaType, Digest: sd.Digest, Size: sd.Size},
	}
	p.putManifest(t, p.ref(t, repo), m)
}

// statement is the in-toto statement cosign 3 signs for an image.
func statement(image, dig string) []byte {
	alg, hexd, _ := strings.Cut(dig, ":")
	return fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{%q:%q}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`, image, alg, hexd)
}

// pae is DSSE's pre-authentication encoding.
func pae(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}

const intotoType = "application/vnd.in-toto+json"

func marshalBundle(t testing.TB, b *protobundle.Bundle) []byte {
	t.Helper()
	b.MediaType = verify.BundleArtifactType
	raw, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// keyBundle is a Sigstore bundle signing image@dig's statement with a key.
func keyBundle(t testing.TB, k *keyPair, image, dig string) []byte {
	st := statement(image, dig)
	return marshalBundle(t, &protobundle.Bundle{
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: "test-key"}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: st, PayloadType: intotoType,
			Signatures: []*protodsse.Signature{{Sig: k.sign(t, pae(intotoType, st))}},
		}},
	})
}

// Keyless material: a VirtualSigstore is a test CA standing in for Fulcio,
// a transparency log key standing in for Rekor, and a TSA.

const (
	ghIssuer   = "https://token.actions.githubusercontent.com"
	ghIdentity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
)

func newSigstore(t testing.TB) *ca.VirtualSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// writeTrustedRoot writes vs's CA, TSA and log keys as a trusted_root.json.
func writeTrustedRoot(t testing.TB, vs *ca.VirtualSigstore, path string) {
	t.Helper()
	// VirtualSigstore keys its logs by hex ID and stores the hex text as
	// the ID; a trusted_root.json holds the raw key ID bytes.
	logs := vs.RekorLogs()
	for id, l := range logs {
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatal(err)
		}
		l.ID = raw
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), nil, vs.TimestampingAuthorities(), logs)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// set signs a Rekor entry's inclusion promise with the test log key.
func set(t testing.TB, vs *ca.VirtualSigstore, tle *protorekor.TransparencyLogEntry) []byte {
	t.Helper()
	s, err := vs.RekorSignPayload(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
		IntegratedTime: tle.IntegratedTime,
		LogIndex:       tle.LogIndex,
		LogID:          hex.EncodeToString(tle.LogId.KeyId),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keylessSig is a keyless signature of image@dig in the .sig layout: the
// certificate and the Rekor bundle ride in the layer's annotations.
func keylessSig(t testing.TB, vs *ca.VirtualSigstore, identity, issuer, image, dig string) sigLayer {
	t.Helper()
	p := payloadFor(image, dig)
	e, err := vs.Sign(identity, issuer, p)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	entries, _ := e.TlogEntries()
	tle := entries[0].TransparencyLogEntry()
	rb, err := json.Marshal(map[string]any{
		"SignedEntryTimestamp": set(t, vs, tle),
		"Payload": map[string]any{
			"body":           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
			"integratedTime": tle.IntegratedTime,
			"logIndex":       tle.LogIndex,
			"logID":          hex.EncodeToString(tle.LogId.KeyId),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sigLayer{payload: p, ann: map[string]string{
		verify.SignatureAnnotation:   base64.StdEncoding.EncodeToString(sc.Signature()),
		verify.CertificateAnnotation: certPEM(vc.Certificate()),
		verify.BundleAnnotation:      string(rb),
	}}
}

// keylessBundle is a v0.3 Sigstore bundle signing image@dig's statement
// with a certificate, with its Rekor entry's inclusion proof and promise.
func keylessBundle(t testing.TB, vs *ca.VirtualSigstore, identity, issuer, image, dig string) []byte {
	t.Helper()
	e, err := vs.AttestAtTime(identity, issuer, statement(image, dig), time.Now().Add(5*time.Minute), true)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := e.TlogEntries()
	tle := entries[0].TransparencyLogEntry()
	tle.KindVersion = &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set(t, vs, tle)}
	return marshalBundle(t, &protobundle.Bundle{
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType,
			Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	})
}
