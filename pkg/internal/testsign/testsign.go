// Package testsign signs test images in-process the way cosign does — a
// key pair as `cosign generate-key-pair` makes, and a VirtualSigstore (a
// test CA standing in for Fulcio, a test transparency-log key standing in
// for Rekor) for keyless signatures — and pushes the signatures in cosign's
// two layouts: the sha256-<hex>.sig tag and Sigstore bundle referrers.
// Tests only.
package testsign

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

// Key is an ECDSA P-256 key pair, as `cosign generate-key-pair` makes.
type Key struct {
	priv *ecdsa.PrivateKey
}

// NewKey generates a key pair and writes its public key (PEM) to dir/name.
func NewKey(t testing.TB, dir, name string) *Key {
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
	return &Key{priv: priv}
}

// sign signs data as cosign does with a key: ECDSA over its SHA-256.
func (k *Key) Sign(t testing.TB, data []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// Payload is cosign's simple-signing payload for image@dig.
func Payload(image, dig string) []byte {
	return fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, image, dig)
}

// Layer is one layer of a .sig manifest.
type Layer struct {
	Payload     []byte
	Annotations map[string]string
}

// KeySig is a key signature of image@dig in the .sig layout.
func KeySig(t testing.TB, k *Key, image, dig string) Layer {
	p := Payload(image, dig)
	return Layer{Payload: p, Annotations: map[string]string{verify.SignatureAnnotation: base64.StdEncoding.EncodeToString(k.Sign(t, p))}}
}

// Pusher pushes blobs and manifests with regclient, as cosign and oras do.
type Pusher struct {
	rc   *regclient.RegClient
	host string
}

func NewPusher(reg *testregistry.Registry) *Pusher {
	return &Pusher{
		rc:   regclient.New(regclient.WithConfigHost(rcconfig.Host{Name: reg.PushHost(), TLS: rcconfig.TLSDisabled})),
		host: reg.PushHost(),
	}
}

func (p *Pusher) ref(t testing.TB, repo string) ref.Ref {
	t.Helper()
	r, err := ref.New(p.host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (p *Pusher) blob(t testing.TB, repo, mediaType string, raw []byte, ann map[string]string) descriptor.Descriptor {
	t.Helper()
	d := descriptor.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(raw), Size: int64(len(raw)), Annotations: ann}
	if _, err := p.rc.BlobPut(context.Background(), p.ref(t, repo), d, bytes.NewReader(raw)); err != nil {
		t.Fatalf("push blob: %v", err)
	}
	return d
}

var emptyJSON = []byte("{}")

// PushSigs stores layers as the .sig manifest of repo@dig (replacing any).
func (p *Pusher) PushSigs(t testing.TB, repo, dig string, layers ...Layer) {
	t.Helper()
	m := v1.Manifest{
		Versioned: v1.ManifestSchemaVersion,
		MediaType: mediatype.OCI1Manifest,
		Config:    p.blob(t, repo, mediatype.OCI1ImageConfig, emptyJSON, nil),
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, p.blob(t, repo, verify.SimpleSigningMediaType, l.Payload, l.Annotations))
	}
	p.putManifest(t, p.ref(t, repo).SetTag(verify.SignatureTag(dig)), m)
}

func (p *Pusher) putManifest(t testing.TB, r ref.Ref, orig v1.Manifest) {
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

// PushBundle attaches a Sigstore bundle to repo@dig as an OCI referrer, as
// cosign 3 does (regclient updates the fallback tag on registries without
// the referrers API).
//
// configType is the referrer's config media type: OCI's empty config, as
// cosign writes, or the bundle type for go-containerregistry's in-process
// referrers API, which reports the config media type as the artifactType
// instead of the manifest's artifactType (the pre-1.1 convention).
func (p *Pusher) PushBundle(t testing.TB, repo, dig string, bundleJSON []byte) {
	t.Helper()
	p.PushBundleConfig(t, repo, dig, bundleJSON, mediatype.OCI1Empty)
}

func (p *Pusher) PushBundleConfig(t testing.TB, repo, dig string, bundleJSON []byte, configType string) {
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

// Statement is the in-toto Statement cosign 3 signs for an image.
func Statement(image, dig string) []byte {
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

// KeyBundle is a Sigstore bundle signing image@dig's Statement with a key.
func KeyBundle(t testing.TB, k *Key, image, dig string) []byte {
	st := Statement(image, dig)
	return marshalBundle(t, &protobundle.Bundle{
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: "test-key"}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: st, PayloadType: intotoType,
			Signatures: []*protodsse.Signature{{Sig: k.Sign(t, pae(intotoType, st))}},
		}},
	})
}

// Keyless material: a VirtualSigstore is a test CA standing in for Fulcio,
// a transparency log key standing in for Rekor, and a TSA.

const (
	GHIssuer   = "https://token.actions.githubusercontent.com"
	GHIdentity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
)

func NewSigstore(t testing.TB) *ca.VirtualSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// WriteTrustedRoot writes vs's CA, TSA and log keys as a trusted_root.json.
func WriteTrustedRoot(t testing.TB, vs *ca.VirtualSigstore, path string) {
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

// KeylessSig is a keyless signature of image@dig in the .sig layout: the
// certificate and the Rekor bundle ride in the layer's annotations.
func KeylessSig(t testing.TB, vs *ca.VirtualSigstore, identity, issuer, image, dig string) Layer {
	t.Helper()
	p := Payload(image, dig)
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
	return Layer{Payload: p, Annotations: map[string]string{
		verify.SignatureAnnotation:   base64.StdEncoding.EncodeToString(sc.Signature()),
		verify.CertificateAnnotation: certPEM(vc.Certificate()),
		verify.BundleAnnotation:      string(rb),
	}}
}

// KeylessBundle is a v0.3 Sigstore bundle signing image@dig's Statement
// with a certificate, with its Rekor entry's inclusion proof and promise.
func KeylessBundle(t testing.TB, vs *ca.VirtualSigstore, identity, issuer, image, dig string) []byte {
	t.Helper()
	e, err := vs.AttestAtTime(identity, issuer, Statement(image, dig), time.Now().Add(5*time.Minute), true)
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
