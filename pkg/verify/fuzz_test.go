package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient/types/descriptor"

	"github.com/digestbot/digestbot/pkg/config"
)

// FuzzCandidates feeds hostile registry content — simple-signing payloads,
// signature, certificate and Rekor bundle annotations, Sigstore bundles —
// to the parsers and to verification with a key no input was signed with.
// Nothing may panic, a payload naming another digest is never a candidate,
// and nothing ever verifies.
func FuzzCandidates(f *testing.F) {
	dir := f.TempDir()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err := os.WriteFile(filepath.Join(dir, "k.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		f.Fatal(err)
	}
	r, err := compileRule(0, config.VerifyRule{Images: []string{"**"}, Keys: []string{"k.pub"}}, dir)
	if err != nil {
		f.Fatal(err)
	}
	v := &Verifier{o: options{requestTimeout: DefaultRequestTimeout, attempts: 1, tufTimeout: DefaultTUFTimeout}}
	d := digest.FromString("the image")
	good := `{"critical":{"identity":{"docker-reference":"ghcr.io/a/b"},"image":{"docker-manifest-digest":"` + d.String() + `"},"type":"cosign container image signature"},"optional":null}`
	f.Add([]byte(good), "MEUCIQDx", "", "", []byte(`{}`))
	f.Add([]byte(good), "!!", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", `{"SignedEntryTimestamp":"AA==","Payload":{"body":"e30=","integratedTime":1,"logIndex":2,"logID":"zz"}}`, []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(strings.Replace(good, d.String(), digest.FromString("other").String(), 1)), "", "", "", []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`))
	f.Fuzz(func(t *testing.T, payload []byte, sig, cert, rekor string, bundleJSON []byte) {
		ann := map[string]string{SignatureAnnotation: sig}
		if cert != "" {
			ann[CertificateAnnotation] = cert
		}
		if rekor != "" {
			ann[BundleAnnotation] = rekor
		}
		l := descriptor.Descriptor{MediaType: SimpleSigningMediaType, Digest: digest.FromBytes(payload), Size: int64(len(payload)), Annotations: ann}
		if c, reason := simpleSigningCandidate(l, payload, d, "tag"); reason == "" {
			var doc map[string]any
			_ = json.Unmarshal(payload, &doc)
			crit, _ := doc["critical"].(map[string]any)
			img, _ := crit["image"].(map[string]any)
			if img["docker-manifest-digest"] != d.String() {
				t.Fatalf("payload %q accepted for %s", payload, d)
			}
			if res, _, err := v.check(context.Background(), r, c); res.Verified || err != nil {
				t.Fatalf("forged simple signature verified: %+v %v", res, err)
			}
		}
		if c, reason := bundleCandidate(bundleJSON, d, "referrer"); reason == "" {
			if res, _, err := v.check(context.Background(), r, c); res.Verified || err != nil {
				t.Fatalf("forged bundle verified: %+v %v", res, err)
			}
		}
		_, _ = parseRekorBundle(rekor)
	})
}
