package diagnose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/regclient/regclient"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/regclient/regclient/types/errs"
	"github.com/regclient/regclient/types/manifest"
	"github.com/regclient/regclient/types/platform"
	"github.com/regclient/regclient/types/ref"

	"github.com/digestbot/digestbot/pkg/resolve"
)

// Well-known OCI annotation and label keys.
const (
	versionKey = "org.opencontainers.image.version"
	refNameKey = "org.opencontainers.image.ref.name"
)

// maxConfigSize bounds the image configs read (a config is a few KiB; a
// larger blob is a layer, never read).
const maxConfigSize = 4 << 20

// headInfo is what a manifest HEAD tells.
type headInfo struct {
	digest  string
	isIndex bool
}

// child is one platform's entry of an index.
type child struct {
	digest      string
	platform    platform.Platform
	known       bool              // the descriptor carries a platform
	annotations map[string]string // the descriptor's annotations in the index
}

func (c child) String() string {
	if !c.known {
		return "unknown platform"
	}
	return c.platform.String()
}

// manifestInfo is what digestbot needs of a manifest body.
type manifestInfo struct {
	isIndex     bool
	children    []child // index: platform entries, attestations left out
	annotations map[string]string
	config      descriptor.Descriptor // image manifest: its config
}

// imageConfig is the part of an image config digestbot reads.
type imageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant"`
	OSVersion    string `json:"os.version"`
	Config       struct {
		Labels map[string]string `json:"Labels"`
	} `json:"config"`
	RootFS *json.RawMessage `json:"rootfs"`
}

func (c imageConfig) platform() platform.Platform {
	return platform.Platform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant, OSVersion: c.OSVersion}
}

// valid reports whether the JSON looked like an image config at all.
func (c imageConfig) valid() bool { return c.RootFS != nil && (c.OS != "" || c.Architecture != "") }

// blobInfo is what a blob HEAD tells.
type blobInfo struct {
	size int64
}

// repoRef is the regclient form of a repository, built from its parts
// (resolve.Key.Ref), not by parsing text again.
func repoRef(registry, repository string) (ref.Ref, error) {
	r, err := resolve.Key{Registry: registry, Repository: repository}.Ref()
	if err != nil {
		return ref.Ref{}, fmt.Errorf("%s/%s is not a valid repository: %w", registry, repository, err)
	}
	return r, nil
}

// call runs one registry request with its own deadline, retrying once on
// answers that say "try again" (429, 5xx, a reset connection).
func (d *Diagnoser) call(ctx context.Context, f func(ctx context.Context) error) error {
	return resolve.Call(ctx, d.o.requestTimeout, d.o.attempts, d.o.retryDelay, f)
}

func notFound(err error) bool { return resolve.NotFound(err) }

// headManifest asks whether repo@dig is a manifest (HEAD, 1 request).
func (d *Diagnoser) headManifest(ctx context.Context, repo ref.Ref, dig string) (headInfo, error) {
	return d.heads.Get(repo.CommonName()+"@"+dig, func() (headInfo, error) {
		var h headInfo
		err := d.call(ctx, func(ctx context.Context) error {
			d.stats.manifestHeads.Add(1)
			m, err := d.client().ManifestHead(ctx, repo.SetDigest(dig))
			if err != nil {
				return err
			}
			h = headInfo{digest: dig, isIndex: m.IsList()}
			return nil
		})
		return h, err
	})
}

// headTag asks what repo:tag points to now (HEAD, 1 request).
func (d *Diagnoser) headTag(ctx context.Context, repo ref.Ref, tag string) (string, error) {
	return d.tagHeads.Get(repo.CommonName()+":"+tag, func() (string, error) {
		var dig string
		err := d.call(ctx, func(ctx context.Context) error {
			d.stats.manifestHeads.Add(1)
			d.stats.tagHeads.Add(1)
			m, err := d.client().ManifestHead(ctx, repo.SetTag(tag), regclient.WithManifestRequireDigest())
			if err != nil {
				return err
			}
			dig = m.GetDescriptor().Digest.String()
			return nil
		})
		return dig, err
	})
}

// primeTag records a tag's digest known from the resolver, so the search
// never asks again.
func (d *Diagnoser) primeTag(repo ref.Ref, tag, dig string) {
	_, _ = d.tagHeads.Get(repo.CommonName()+":"+tag, func() (string, error) { return dig, nil })
}

// getManifest reads repo@dig (GET, 1 request).
func (d *Diagnoser) getManifest(ctx context.Context, repo ref.Ref, dig string) (*manifestInfo, error) {
	return d.manifests.Get(repo.CommonName()+"@"+dig, func() (*manifestInfo, error) {
		var mi *manifestInfo
		err := d.call(ctx, func(ctx context.Context) error {
			d.stats.manifestGets.Add(1)
			m, err := d.client().ManifestGet(ctx, repo.SetDigest(dig))
			if err != nil {
				return err
			}
			mi = &manifestInfo{isIndex: m.IsList()}
			if a, ok := m.(manifest.Annotator); ok {
				mi.annotations, _ = a.GetAnnotations()
			}
			if ix, ok := m.(manifest.Indexer); ok {
				dl, err := ix.GetManifestList()
				if err != nil {
					return err
				}
				for _, desc := range dl {
					if isAttestation(desc) {
						continue
					}
					c := child{digest: desc.Digest.String(), annotations: desc.Annotations}
					if desc.Platform != nil {
						c.platform, c.known = *desc.Platform, true
					}
					mi.children = append(mi.children, c)
				}
			}
			if im, ok := m.(manifest.Imager); ok {
				mi.config, _ = im.GetConfig()
			}
			return nil
		})
		return mi, err
	})
}

// isAttestation reports BuildKit's attestation manifests (platform
// unknown/unknown), which are not images anyone runs.
func isAttestation(desc descriptor.Descriptor) bool {
	if desc.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
		return true
	}
	return desc.Platform != nil && desc.Platform.OS == "unknown" && desc.Platform.Architecture == "unknown"
}

// headBlob asks whether repo has a blob dig (HEAD, 1 request).
func (d *Diagnoser) headBlob(ctx context.Context, repo ref.Ref, dig string) (blobInfo, error) {
	return d.blobHeads.Get(repo.CommonName()+"@"+dig, func() (blobInfo, error) {
		var bi blobInfo
		err := d.call(ctx, func(ctx context.Context) error {
			d.stats.blobHeads.Add(1)
			dd, err := parseDigest(dig)
			if err != nil {
				return err
			}
			b, err := d.client().BlobHead(ctx, repo, descriptor.Descriptor{Digest: dd})
			if err != nil {
				return err
			}
			bi.size = b.GetDescriptor().Size
			if resp := b.Response(); resp != nil && bi.size <= 0 {
				bi.size = resp.ContentLength
			}
			return b.Close()
		})
		return bi, err
	})
}

// getConfig reads and decodes the image config blob dig (GET, 1 request).
// A blob that is not an image config gives an error.
func (d *Diagnoser) getConfig(ctx context.Context, repo ref.Ref, dig string, size int64) (*imageConfig, error) {
	return d.configs.Get(repo.CommonName()+"@"+dig, func() (*imageConfig, error) {
		if size > maxConfigSize {
			return nil, errNotConfig
		}
		var c imageConfig
		err := d.call(ctx, func(ctx context.Context) error {
			d.stats.blobGets.Add(1)
			dd, err := parseDigest(dig)
			if err != nil {
				return err
			}
			b, err := d.client().BlobGet(ctx, repo, descriptor.Descriptor{Digest: dd, Size: size})
			if err != nil {
				return err
			}
			defer b.Close()
			raw, err := io.ReadAll(io.LimitReader(b, maxConfigSize+1))
			if err != nil {
				return err
			}
			c = imageConfig{}
			if len(raw) > maxConfigSize || json.Unmarshal(raw, &c) != nil || !c.valid() {
				return errNotConfig
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return &c, nil
	})
}

var errNotConfig = errors.New("not an image config")

// tagList lists repo's tags once per run (GET, one request per page).
func (d *Diagnoser) tagList(ctx context.Context, repo ref.Ref) ([]string, error) {
	return d.tagLists.Get(repo.CommonName(), func() ([]string, error) {
		var tags []string
		err := d.call(ctx, func(ctx context.Context) error {
			d.stats.tagLists.Add(1)
			// regclient follows rel="next" for as long as the registry
			// sends it: bound the pages and bytes of one listing.
			lctx := resolve.WithPageBudget(ctx, resolve.DefaultTagPages, resolve.DefaultTagBytes)
			tl, err := d.client().TagList(lctx, repo.SetTag(""))
			if err != nil && !(errors.Is(err, resolve.ErrPageBudget) && tl != nil) {
				return err
			}
			// Past the budget, the pages read so far are searched.
			tags, err = tl.GetTags()
			return err
		})
		return tags, err
	})
}

// describeErr turns a request failure into a few words for a message.
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
	case notFound(err):
		return "not found"
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

func parseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", fmt.Errorf("invalid digest %q: %w", s, err)
	}
	return d, nil
}
