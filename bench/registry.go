//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is the benchmark registry: a backend (go-containerregistry's
// in-process registry, or a real one at host:port) behind a proxy that
// counts manifest requests and can add latency. Seeding goes to the backend
// directly, so it is neither counted nor delayed.
type Registry struct {
	front   *http.Server
	frontLn net.Listener
	backend string // host:port pushes go to
	prefix  string // repository prefix on a real registry ("" in-process)
	local   *http.Server

	latency time.Duration

	heads, gets, total atomic.Int64
	inflight, maxIn    atomic.Int64
	mu                 sync.Mutex
	first, last        time.Time // first manifest request in, last manifest answer out
}

var manifestRe = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs|tags)/(.*)$`)

// StartRegistry starts the backend and the proxy. real is a host:port of a
// running registry (plain HTTP) or "" for an in-process one.
func StartRegistry(real string, latency time.Duration) (*Registry, error) {
	r := &Registry{latency: latency}
	if real == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		r.local = &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
		go func() { _ = r.local.Serve(ln) }()
		r.backend = ln.Addr().String()
	} else {
		r.backend = real
		// A prefix of its own keeps the benchmark's tags apart from
		// anything else on a shared registry.
		r.prefix = "digestbot-bench"
	}
	target := &url.URL{Scheme: "http", Host: r.backend}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if m := manifestRe.FindStringSubmatch(pr.In.URL.Path); m != nil && r.prefix != "" {
				pr.Out.URL.Path = "/v2/" + r.prefix + "/" + m[1] + "/" + m[2] + "/" + m[3]
				pr.Out.URL.RawPath = ""
			}
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.frontLn = ln
	r.front = &http.Server{Handler: r.count(proxy)}
	go func() { _ = r.front.Serve(ln) }()
	return r, nil
}

// Host is the proxy's host:port, what digestbot is configured to use.
func (r *Registry) Host() string { return r.frontLn.Addr().String() }

// Close stops the proxy and an in-process backend.
func (r *Registry) Close() {
	_ = r.front.Close()
	if r.local != nil {
		_ = r.local.Close()
	}
}

// Counts is what the proxy saw since the last Reset.
type Counts struct {
	Heads, Gets, Total int64
	MaxInFlight        int64
	// Span is the time from the first manifest request to the last manifest
	// answer: how long resolution kept the registry busy.
	Span time.Duration
	// First is when the first manifest request came in (zero if none).
	First time.Time
}

func (r *Registry) Reset() {
	r.heads.Store(0)
	r.gets.Store(0)
	r.total.Store(0)
	r.maxIn.Store(0)
	r.mu.Lock()
	r.first, r.last = time.Time{}, time.Time{}
	r.mu.Unlock()
}

func (r *Registry) Counts() Counts {
	r.mu.Lock()
	span := r.last.Sub(r.first)
	first := r.first
	r.mu.Unlock()
	return Counts{Heads: r.heads.Load(), Gets: r.gets.Load(), Total: r.total.Load(), MaxInFlight: r.maxIn.Load(), Span: max(span, 0), First: first}
}

func (r *Registry) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.total.Add(1)
		n := r.inflight.Add(1)
		defer r.inflight.Add(-1)
		for {
			m := r.maxIn.Load()
			if n <= m || r.maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		m := manifestRe.FindStringSubmatch(req.URL.Path)
		isManifest := m != nil && m[2] == "manifests"
		if isManifest {
			switch req.Method {
			case http.MethodHead:
				r.heads.Add(1)
			case http.MethodGet:
				r.gets.Add(1)
			}
			r.mu.Lock()
			if r.first.IsZero() {
				r.first = time.Now()
			}
			r.mu.Unlock()
		}
		if r.latency > 0 {
			t := time.NewTimer(r.latency)
			select {
			case <-t.C:
			case <-req.Context().Done():
				t.Stop()
				return
			}
		}
		next.ServeHTTP(w, req)
		if isManifest {
			r.mu.Lock()
			r.last = time.Now()
			r.mu.Unlock()
		}
	})
}

// Seed pushes one small multi-platform index per unique tag. Per
// repository it pushes one base index (two platform images, layers shared);
// each tag is then a distinct index manifest (the base plus a version
// annotation, so every tag has a digest of its own) PUT directly: one small
// request per tag, run concurrently.
func (r *Registry) Seed(ctx context.Context, s Shape) (map[string]string, error) {
	bases := map[string][]byte{} // repo path → base index JSON
	for _, repo := range s.repos() {
		raw, err := r.pushBase(r.backendRepo(repo.path))
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", repo.path, err)
		}
		bases[repo.path] = raw
	}
	digests := make(map[string]string, s.Tags) // "repo:tag" → digest
	var mu sync.Mutex
	work := make(chan int)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				tr := s.tag(i)
				raw, err := annotate(bases[tr.repo.path], tr.tag)
				if err == nil {
					err = r.putManifest(ctx, client, r.backendRepo(tr.repo.path), tr.tag, raw)
				}
				if err != nil {
					select {
					case errc <- fmt.Errorf("seed %s:%s: %w", tr.repo.path, tr.tag, err):
					default:
					}
					continue
				}
				h, _, _ := v1.SHA256(bytes.NewReader(raw))
				mu.Lock()
				digests[tr.repo.path+":"+tr.tag] = h.String()
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < s.Tags; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	return digests, nil
}

func (r *Registry) backendRepo(p string) string {
	if r.prefix == "" {
		return p
	}
	return r.prefix + "/" + p
}

// pushBase pushes a two-platform OCI index and returns its manifest.
func (r *Registry) pushBase(repo string) ([]byte, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		layer, err := random.Layer(256, types.OCILayer)
		if err != nil {
			return nil, err
		}
		img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return nil, err
		}
		plat, _ := v1.ParsePlatform(p)
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = plat.OS, plat.Architecture
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	ref, err := name.ParseReference(r.backend+"/"+repo+":base", name.Insecure)
	if err != nil {
		return nil, err
	}
	if err := remote.WriteIndex(ref, idx, remote.WithTransport(http.DefaultTransport)); err != nil {
		return nil, err
	}
	return idx.RawManifest()
}

// annotate returns the index manifest base with a version annotation.
func annotate(base []byte, tag string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(base, &m); err != nil {
		return nil, err
	}
	m["annotations"] = map[string]string{"org.opencontainers.image.version": tag}
	return json.Marshal(m)
}

func (r *Registry) putManifest(ctx context.Context, c *http.Client, repo, tag string, raw []byte) error {
	u := "http://" + r.backend + "/v2/" + repo + "/manifests/" + tag
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", string(types.OCIImageIndex))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("PUT %s: %s: %s", u, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}
