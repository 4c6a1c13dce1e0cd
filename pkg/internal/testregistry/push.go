package testregistry

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// VersionAnnotation is the OCI annotation holding an image's version.
const VersionAnnotation = "org.opencontainers.image.version"

// Image is a single-platform image pushed to the registry.
type Image struct {
	Digest       string // manifest digest
	ConfigDigest string // config digest (what `docker images` shows as IMAGE ID)
	Platform     string // "linux/amd64", "linux/arm64/v8"
	MediaType    string // manifest media type
}

// Index is a multi-platform image (OCI index or Docker manifest list).
type Index struct {
	Digest    string // index digest
	MediaType string
	Children  []Image // in the order of the platforms given
}

type pushOptions struct {
	platform    string
	labels      map[string]string
	annotations map[string]string
	docker      bool
}

// PushOpt configures PushImage and PushIndex.
type PushOpt func(*pushOptions)

// Platform sets the platform of PushImage's image (default linux/amd64).
func Platform(p string) PushOpt { return func(o *pushOptions) { o.platform = p } }

// Labels sets config labels on every image pushed (for an index, on each
// child), e.g. {"org.opencontainers.image.version": "1.2.3"}.
func Labels(l map[string]string) PushOpt { return func(o *pushOptions) { o.labels = l } }

// Annotations sets annotations on the top-level manifest: the index for
// PushIndex, the image manifest for PushImage.
func Annotations(a map[string]string) PushOpt { return func(o *pushOptions) { o.annotations = a } }

// Version is Annotations{VersionAnnotation: v} plus the same config label,
// the way images built with docker/metadata-action carry their version.
func Version(v string) PushOpt {
	return func(o *pushOptions) {
		o.annotations = merge(o.annotations, map[string]string{VersionAnnotation: v})
		o.labels = merge(o.labels, map[string]string{VersionAnnotation: v})
	}
}

// DockerMediaTypes pushes Docker schema 2 manifests and a Docker manifest
// list instead of OCI ones.
func DockerMediaTypes() PushOpt { return func(o *pushOptions) { o.docker = true } }

func merge(a, b map[string]string) map[string]string {
	c := map[string]string{}
	for k, v := range a {
		c[k] = v
	}
	for k, v := range b {
		c[k] = v
	}
	return c
}

func pushOpts(opts []PushOpt) pushOptions {
	o := pushOptions{platform: "linux/amd64"}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// reference parses repo:tag (or repo@digest) on the fault-free server.
func (r *Registry) reference(t testing.TB, repo, sep, tagOrDigest string) name.Reference {
	t.Helper()
	s := r.direct.Listener.Addr().String() + "/" + repo + sep + tagOrDigest
	ref, err := name.ParseReference(s, name.Insecure, name.StrictValidation)
	if err != nil {
		t.Fatalf("testregistry: bad reference %q: %v", s, err)
	}
	return ref
}

// pushTransport is a transport of its own: httptest.Server.Close closes
// http.DefaultTransport's idle connections, which breaks pushes of tests
// running in parallel ("http: CloseIdleConnections called").
var pushTransport = http.DefaultTransport.(*http.Transport).Clone()

func (r *Registry) remoteOpts() []remote.Option {
	return []remote.Option{remote.WithTransport(pushTransport)}
}

// PushImage pushes a new single-platform image (random content, so a new
// digest on every call) as repo:tag.
func (r *Registry) PushImage(t testing.TB, repo, tag string, opts ...PushOpt) Image {
	t.Helper()
	o := pushOpts(opts)
	img, info, err := buildImage(o.platform, o)
	if err != nil {
		t.Fatalf("testregistry: build image: %v", err)
	}
	if len(o.annotations) > 0 {
		img = mutate.Annotations(img, o.annotations).(v1.Image)
		if info, err = describe(img, o.platform); err != nil {
			t.Fatalf("testregistry: %v", err)
		}
	}
	if err := remote.Write(r.reference(t, repo, ":", tag), img, r.remoteOpts()...); err != nil {
		t.Fatalf("testregistry: push %s:%s: %v", repo, tag, err)
	}
	return info
}

// PushIndex pushes a new multi-platform image as repo:tag: an OCI index
// with one child image per platform ("linux/amd64", "linux/arm64/v8", …;
// default linux/amd64 and linux/arm64/v8).
func (r *Registry) PushIndex(t testing.TB, repo, tag string, platforms ...string) Index {
	t.Helper()
	return r.PushIndexOpts(t, repo, tag, platforms)
}

// PushIndexOpts is PushIndex with options: a Docker manifest list
// (DockerMediaTypes), annotations on the index, labels on every child.
func (r *Registry) PushIndexOpts(t testing.TB, repo, tag string, platforms []string, opts ...PushOpt) Index {
	t.Helper()
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64", "linux/arm64/v8"}
	}
	o := pushOpts(opts)
	mt := types.OCIImageIndex
	if o.docker {
		mt = types.DockerManifestList
	}
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, mt)
	out := Index{MediaType: string(mt)}
	for _, p := range platforms {
		img, info, err := buildImage(p, o)
		if err != nil {
			t.Fatalf("testregistry: build image %s: %v", p, err)
		}
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			t.Fatalf("testregistry: platform %q: %v", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
		out.Children = append(out.Children, info)
	}
	if len(o.annotations) > 0 {
		idx = mutate.Annotations(idx, o.annotations).(v1.ImageIndex)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatalf("testregistry: index digest: %v", err)
	}
	out.Digest = d.String()
	if err := remote.WriteIndex(r.reference(t, repo, ":", tag), idx, r.remoteOpts()...); err != nil {
		t.Fatalf("testregistry: push %s:%s: %v", repo, tag, err)
	}
	return out
}

// Tag points repo:tag at the manifest repo@digest already in the registry
// (the same bytes and media type), moving the tag if it exists.
func (r *Registry) Tag(t testing.TB, repo, tag, digest string) {
	t.Helper()
	desc, err := remote.Get(r.reference(t, repo, "@", digest), r.remoteOpts()...)
	if err != nil {
		t.Fatalf("testregistry: get %s@%s: %v", repo, digest, err)
	}
	tagRef, ok := r.reference(t, repo, ":", tag).(name.Tag)
	if !ok {
		t.Fatalf("testregistry: %q is not a tag", tag)
	}
	if err := remote.Tag(tagRef, desc, r.remoteOpts()...); err != nil {
		t.Fatalf("testregistry: tag %s:%s → %s: %v", repo, tag, digest, err)
	}
}

// PutManifest stores raw manifest bytes with a media type as repo:tag and
// returns their digest (for hand-made manifests in tests). The blobs it
// references must exist on registries that check them.
func (r *Registry) PutManifest(t testing.TB, repo, tag, mediaType string, raw []byte) string {
	t.Helper()
	tagRef, ok := r.reference(t, repo, ":", tag).(name.Tag)
	if !ok {
		t.Fatalf("testregistry: %q is not a tag", tag)
	}
	m := rawManifest{raw: raw, mt: types.MediaType(mediaType)}
	if err := remote.Put(tagRef, m, r.remoteOpts()...); err != nil {
		t.Fatalf("testregistry: put %s:%s: %v", repo, tag, err)
	}
	h, _, err := v1.SHA256(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

func buildImage(platform string, o pushOptions) (v1.Image, Image, error) {
	mt, cmt, lmt := types.OCIManifestSchema1, types.OCIConfigJSON, types.OCILayer
	if o.docker {
		mt, cmt, lmt = types.DockerManifestSchema2, types.DockerConfigJSON, types.DockerLayer
	}
	layer, err := random.Layer(256, lmt)
	if err != nil {
		return nil, Image{}, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, mt), cmt)
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return nil, Image{}, err
	}
	plat, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, Image{}, fmt.Errorf("platform %q: %w", platform, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, Image{}, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = plat.OS, plat.Architecture, plat.Variant, plat.OSVersion
	if len(o.labels) > 0 {
		cf.Config.Labels = merge(cf.Config.Labels, o.labels)
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, Image{}, err
	}
	info, err := describe(img, platform)
	return img, info, err
}

func describe(img v1.Image, platform string) (Image, error) {
	d, err := img.Digest()
	if err != nil {
		return Image{}, err
	}
	c, err := img.ConfigName()
	if err != nil {
		return Image{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return Image{}, err
	}
	return Image{Digest: d.String(), ConfigDigest: c.String(), Platform: platform, MediaType: string(mt)}, nil
}
