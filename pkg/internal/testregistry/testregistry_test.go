package testregistry_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

func get(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestPushIndexAndCounts(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		t.Parallel()
		reg := newRegistry(t)
		idx := reg.PushIndexOpts(t, "library/ubuntu", "20.04", []string{"linux/amd64", "linux/arm64/v8"}, testregistry.Version("20.04.6"))
		if c := reg.Counts(); c.Total != 0 {
			t.Fatalf("pushes were counted: %+v", c)
		}
		if len(idx.Children) != 2 || idx.Children[1].Platform != "linux/arm64/v8" || idx.MediaType != "application/vnd.oci.image.index.v1+json" {
			t.Fatalf("index: %+v", idx)
		}

		resp, body := get(t, http.MethodGet, reg.URL()+"/v2/library/ubuntu/manifests/20.04", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET manifest: %s %s", resp.Status, body)
		}
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(body)); got != idx.Digest || resp.Header.Get("Docker-Content-Digest") != idx.Digest {
			t.Fatalf("digest: body %s header %s, want %s", got, resp.Header.Get("Docker-Content-Digest"), idx.Digest)
		}
		var m struct {
			MediaType   string            `json:"mediaType"`
			Annotations map[string]string `json:"annotations"`
			Manifests   []struct {
				Digest   string `json:"digest"`
				Platform struct {
					Architecture string `json:"architecture"`
					Variant      string `json:"variant"`
				} `json:"platform"`
			} `json:"manifests"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		if m.Annotations[testregistry.VersionAnnotation] != "20.04.6" || len(m.Manifests) != 2 ||
			m.Manifests[1].Digest != idx.Children[1].Digest || m.Manifests[1].Platform.Variant != "v8" {
			t.Fatalf("index content: %s", body)
		}
		get(t, http.MethodHead, reg.URL()+"/v2/library/ubuntu/manifests/20.04", nil)
		get(t, http.MethodGet, reg.URL()+"/v2/library/ubuntu/tags/list", nil)

		c := reg.Counts()
		if c.ManifestGet["library/ubuntu:20.04"] != 1 || c.ManifestHead["library/ubuntu:20.04"] != 1 || c.TagsList["library/ubuntu"] != 1 || c.Total != 3 {
			t.Fatalf("counts: %+v", c)
		}
		reg.ResetCounts()
		if c := reg.Counts(); c.Total != 0 || len(c.ManifestGet) != 0 {
			t.Fatalf("after reset: %+v", c)
		}

		// The child config carries the platform and the version label.
		ref, err := name.ParseReference(reg.Host()+"/library/ubuntu@"+idx.Children[1].Digest, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(ref)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cd, _ := img.ConfigName()
		if cf.Architecture != "arm64" || cf.Variant != "v8" || cf.Config.Labels[testregistry.VersionAnnotation] != "20.04.6" || cd.String() != idx.Children[1].ConfigDigest {
			t.Fatalf("child config: %+v (%s)", cf, cd)
		}

		if got := reg.SkopeoDigest(t, "library/ubuntu:20.04"); got != idx.Digest {
			t.Errorf("skopeo: %s, want %s", got, idx.Digest)
		}
	})
}

func TestTagsListAndIsolation(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		t.Parallel()
		a, b := newRegistry(t), newRegistry(t)
		a.PushImage(t, "iso/app", "a1")
		a.PushImage(t, "iso/app", "a2")
		b.PushImage(t, "iso/app", "b1")
		_, body := get(t, http.MethodGet, a.URL()+"/v2/iso/app/tags/list", nil)
		var tl struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(body, &tl); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if tl.Name != "iso/app" || len(tl.Tags) != 2 {
			t.Fatalf("tags/list of a: %s", body)
		}
		if a.Real() && a.Namespace() == b.Namespace() {
			t.Fatal("two registries share a namespace")
		}
		if a.Real() != (a.BackendRepo("x") != "x") {
			t.Fatalf("BackendRepo: %s", a.BackendRepo("x"))
		}
	})
}

func TestTagMovesAndDockerMediaTypes(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		t.Parallel()
		reg := newRegistry(t)
		list := reg.PushIndexOpts(t, "dock/app", "1", []string{"linux/amd64", "linux/arm/v7"}, testregistry.DockerMediaTypes())
		img := reg.PushImage(t, "dock/app", "2", testregistry.DockerMediaTypes(), testregistry.Platform("linux/arm64"))
		if list.MediaType != "application/vnd.docker.distribution.manifest.list.v2+json" || img.MediaType != "application/vnd.docker.distribution.manifest.v2+json" || img.Platform != "linux/arm64" {
			t.Fatalf("%+v %+v", list, img)
		}
		reg.Tag(t, "dock/app", "1", img.Digest)
		resp, _ := get(t, http.MethodHead, reg.URL()+"/v2/dock/app/manifests/1", nil)
		if d := resp.Header.Get("Docker-Content-Digest"); d != img.Digest {
			t.Fatalf("tag 1 → %s, want %s", d, img.Digest)
		}
		if ct := resp.Header.Get("Content-Type"); ct != img.MediaType {
			t.Fatalf("content type %s", ct)
		}
	})
}

func TestFaults(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		t.Parallel()
		reg := newRegistry(t, testregistry.WithBasicAuth("u", "p"), testregistry.WithoutDigestHeader(), testregistry.WithLatency(20*time.Millisecond))
		img := reg.PushImage(t, "f/app", "1")
		resp, _ := get(t, http.MethodHead, reg.URL()+"/v2/f/app/manifests/1", nil)
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="testregistry"` {
			t.Fatalf("no creds: %s %v", resp.Status, resp.Header)
		}
		req, _ := http.NewRequest(http.MethodGet, reg.URL()+"/v2/f/app/manifests/1", nil)
		req.SetBasicAuth("u", "p")
		req.Header.Set("Accept", img.MediaType)
		start := time.Now()
		r2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r2.Body)
		_ = r2.Body.Close()
		if r2.StatusCode != 200 || r2.Header.Get("Docker-Content-Digest") != "" || fmt.Sprintf("sha256:%x", sha256.Sum256(body)) != img.Digest {
			t.Fatalf("with creds: %s digest header %q", r2.Status, r2.Header.Get("Docker-Content-Digest"))
		}
		if time.Since(start) < 20*time.Millisecond {
			t.Fatal("no latency")
		}
	})
}
