package verify

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"strings"

	"github.com/digestbot/digestbot/pkg/resolve"
	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient/scheme"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/regclient/regclient/types/errs"
	"github.com/regclient/regclient/types/manifest"
	"github.com/regclient/regclient/types/ref"
)

// Media types and annotations cosign writes.
const (
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// BundleArtifactType is the artifactType of Sigstore bundle referrers
	// (older bundle versions share the prefix and are read too).
	BundleArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	bundleTypePrefix   = "application/vnd.dev.sigstore.bundle"

	SignatureAnnotation   = "dev.cosignproject.cosign/signature"
	CertificateAnnotation = "dev.sigstore.cosign/certificate"
	ChainAnnotation       = "dev.sigstore.cosign/chain"
	BundleAnnotation      = "dev.sigstore.cosign/bundle"
)

// SignatureTag is the tag cosign stores digest's signatures under:
// sha256:abc… → sha256-abc….sig.
func SignatureTag(dig string) string { return strings.Replace(dig, ":", "-", 1) + ".sig" }

// call runs one registry request with its own deadline, retrying answers
// that say "try again" (429, 5xx, a reset connection).
func (v *Verifier) call(ctx context.Context, f func(ctx context.Context) error) error {
	return resolve.Call(ctx, v.o.requestTimeout, v.o.attempts, v.o.retryDelay, f)
}

func notFound(err error) bool { return resolve.NotFound(err) }

// describeErr turns a request failure into a few words for a message; it
// never includes a registry's response body.
func describeErr(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return "the run's deadline passed"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "the registry did not answer in time"
	case errors.Is(err, errs.ErrHTTPRateLimit):
		return "rate limited (HTTP 429)"
	case errors.Is(err, errs.ErrHTTPUnauthorized):
		return "not authorized"
	case errors.Is(err, errTooBig):
		return err.Error()
	case errors.Is(err, errs.ErrHTTPStatus):
		s := err.Error()
		if i := strings.LastIndex(s, "[http "); i >= 0 {
			code, _, _ := strings.Cut(s[i+len("[http "):], "]")
			return "HTTP " + code
		}
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "the registry could not be reached"
	}
	return "request failed"
}

// Content errors: the registry answered, but with something no signature
// can be read from. They make a candidate fail, not the lookup.
var (
	errTooBig    = errors.New("larger than allowed")
	errMismatch  = errors.New("does not match its digest")
	errMalformed = errors.New("malformed")
)

// sigManifest reads the .sig manifest of dig: its layers, or none when the
// tag does not exist (1 GET).
func (v *Verifier) sigManifest(ctx context.Context, repo ref.Ref, dig string) ([]descriptor.Descriptor, error) {
	var layers []descriptor.Descriptor
	err := v.call(ctx, func(ctx context.Context) error {
		v.stats.sigManifests.Add(1)
		m, err := v.reg.ManifestGet(ctx, repo.SetTag(SignatureTag(dig)))
		if err != nil {
			return err
		}
		im, ok := m.(manifest.Imager)
		if !ok {
			return nil // an index under a .sig tag holds no simple-signing layers
		}
		layers, err = im.GetLayers()
		return err
	})
	if notFound(err) {
		return nil, nil
	}
	return layers, err
}

// bundleReferrers lists dig's referrers that are Sigstore bundles.
func (v *Verifier) bundleReferrers(ctx context.Context, repo ref.Ref, dig string) ([]descriptor.Descriptor, error) {
	var out []descriptor.Descriptor
	err := v.call(ctx, func(ctx context.Context) error {
		v.stats.referrerLists.Add(1)
		rl, err := v.reg.ReferrerList(ctx, repo.SetDigest(dig), scheme.WithReferrerMatchOpt(descriptor.MatchOpt{}))
		if err != nil {
			return err
		}
		out = out[:0]
		for _, d := range rl.Descriptors {
			if strings.HasPrefix(d.ArtifactType, bundleTypePrefix) {
				out = append(out, d)
			}
		}
		return nil
	})
	if notFound(err) {
		return nil, nil
	}
	return out, err
}

// bundleLayer reads a referrer manifest and returns its bundle layer.
func (v *Verifier) bundleLayer(ctx context.Context, repo ref.Ref, d descriptor.Descriptor) (descriptor.Descriptor, error) {
	var layer descriptor.Descriptor
	err := v.call(ctx, func(ctx context.Context) error {
		v.stats.bundleManifests.Add(1)
		m, err := v.reg.ManifestGet(ctx, repo.SetDigest(d.Digest.String()))
		if err != nil {
			return err
		}
		im, ok := m.(manifest.Imager)
		if !ok {
			return fmt.Errorf("%w: referrer %s is not an image manifest", errMalformed, d.Digest)
		}
		layers, err := im.GetLayers()
		if err != nil {
			return err
		}
		for _, l := range layers {
			if strings.HasPrefix(l.MediaType, bundleTypePrefix) {
				layer = l
				return nil
			}
		}
		return fmt.Errorf("%w: referrer %s holds no bundle layer", errMalformed, d.Digest)
	})
	return layer, err
}

// readBlob reads a blob of at most limit bytes and checks it against its
// descriptor's digest (1 GET).
func (v *Verifier) readBlob(ctx context.Context, repo ref.Ref, d descriptor.Descriptor, limit int64, count func()) ([]byte, error) {
	if d.Size > limit {
		return nil, fmt.Errorf("blob %s is %d bytes, %w (%d)", d.Digest, d.Size, errTooBig, limit)
	}
	var raw []byte
	err := v.call(ctx, func(ctx context.Context) error {
		count()
		b, err := v.reg.BlobGet(ctx, repo, d)
		if err != nil {
			return err
		}
		defer b.Close()
		raw, err = io.ReadAll(io.LimitReader(b, limit+1))
		if err != nil {
			return err
		}
		if int64(len(raw)) > limit {
			return fmt.Errorf("blob %s %w (%d bytes)", d.Digest, errTooBig, limit)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := checkDigest(d.Digest, raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// checkDigest verifies content against a digest: a registry is not trusted
// to serve what it was asked for.
func checkDigest(d digest.Digest, raw []byte) error {
	var h hash.Hash
	switch d.Algorithm() {
	case digest.SHA256:
		h = sha256.New()
	case digest.SHA512:
		h = sha512.New()
	default:
		return fmt.Errorf("unsupported digest %q", d)
	}
	h.Write(raw)
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Encoded() {
		return fmt.Errorf("content of %s %w", d, errMismatch)
	}
	return nil
}
