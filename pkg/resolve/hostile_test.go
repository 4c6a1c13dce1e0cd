package resolve_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regclient/regclient/types/ref"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
	"github.com/digestbot/digestbot/pkg/resolve"
)

// Hostile registries, token servers and credential helpers: every wait has
// a deadline and every body a cap, whatever they do.

// bearerRegistry answers every /v2/ request 401, sending clients to realm
// for a token (as Docker Hub does).
func bearerRegistry(t *testing.T, realm string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="hostile",scope="repository:app:pull"`, realm))
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// within runs f and fails the test unless it returns within d.
func within(t *testing.T, d time.Duration, f func()) time.Duration {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d + 10*time.Second):
		t.Fatalf("still running after %s (deadline %s)", d+10*time.Second, d)
	}
	el := time.Since(start)
	if el > d {
		t.Errorf("took %s, deadline %s", el, d)
	}
	return el
}

func TestHostileTokenServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		token http.HandlerFunc
	}{
		{"drips its body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			fmt.Fprint(w, `{"token":"`)
			for r.Context().Err() == nil {
				if _, err := w.Write([]byte("a")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				time.Sleep(50 * time.Millisecond)
			}
		}},
		{"never answers", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}},
		{"sends 512 MiB", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			fmt.Fprint(w, `{"token":"`)
			chunk := []byte(strings.Repeat("a", 1<<20))
			for range 512 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var sent atomic.Int64
			tok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.token(countingWriter{w, &sent}, r)
			}))
			t.Cleanup(tok.Close)
			host := bearerRegistry(t, tok.URL+"/token")
			r := newResolver(t, cfgFor(host), resolve.WithLookupTimeout(time.Second), resolve.WithRetry(1, time.Millisecond))
			k := resolve.Key{Registry: host, Repository: "app", Tag: "1"}
			var res resolve.Result
			// One lookup: its own second, plus at most one request's
			// second for a token request regclient sends without a context.
			within(t, 3*time.Second, func() { res = resolveOne(t, r, k) })
			if res.Err == nil {
				t.Fatalf("resolved against a hostile token server: %+v", res)
			}
			if n := sent.Load(); n > 64<<20 {
				t.Errorf("the client read %d MiB of a token answer", n>>20)
			}
		})
	}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (c countingWriter) Flush() { c.ResponseWriter.(http.Flusher).Flush() }

// hostileHelper installs docker-credential-hostile running script.
func hostileHelper(t *testing.T, script string) {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the credential helper")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-hostile"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// Not parallel: sets PATH.
func TestHostileCredentialHelper(t *testing.T) {
	reg := testregistry.New(t, testregistry.WithBasicAuth("u", "p"))
	reg.PushImage(t, "app", "1")
	k := key(reg, "app", "1")
	for _, tc := range []struct{ name, script, want string }{
		{"never exits", "sleep 60\n", "did not answer within"},
		{"never exits, child holds stdout", "(sleep 60; echo late) &\nsleep 60\n", "did not answer within"},
		{"prints forever", "yes '{\"Username\":\"u\",\"Secret\":\"p\"}'\n", "printed more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hostileHelper(t, tc.script)
			dir := writeDockerConfig(t, map[string]any{"credHelpers": map[string]string{reg.Host(): "hostile"}})
			r := newResolver(t, cfgFor(reg.Host()), resolve.WithDockerConfig(dir), resolve.WithLookupTimeout(time.Second), resolve.WithRetry(1, time.Millisecond))
			var res resolve.Result
			within(t, 3*time.Second, func() { res = resolveOne(t, r, k) })
			checkErr(t, res.Err, resolve.ErrUnauthorized, k, tc.want)
		})
	}
}

func TestEndlessTagPages(t *testing.T) {
	t.Parallel()
	var pages atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/tags/list") {
			w.WriteHeader(200)
			return
		}
		n := pages.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Link", fmt.Sprintf(`</v2/app/tags/list?last=t%d>; rel="next"`, n))
		fmt.Fprintf(w, `{"name":"app","tags":["t%d"]}`, n)
	}))
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	r := newResolver(t, cfgFor(host))
	rf := repoRef(t, host+"/app")
	ctx := resolve.WithPageBudget(context.Background(), 5, 1<<20)
	tl, err := r.Client().TagList(ctx, rf)
	if !errors.Is(err, resolve.ErrPageBudget) || !errors.Is(err, resolve.ErrRegistry) {
		t.Fatalf("endless pages: err = %v, want ErrPageBudget", err)
	}
	// The pages read within the budget come back with the error.
	if tl == nil {
		t.Fatal("no partial list with the error")
	}
	if tags, _ := tl.GetTags(); len(tags) != 5 {
		t.Errorf("partial list = %v, want the 5 pages' tags", tags)
	}
	if n := pages.Load(); n > 5 {
		t.Errorf("%d pages requested, budget 5", n)
	}

	// A byte budget ends one huge page.
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/tags/list") {
			w.WriteHeader(200)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"app","tags":[`)
		for i := range 1 << 20 {
			if _, err := fmt.Fprintf(w, `"tag-%d",`, i); err != nil {
				return
			}
		}
		fmt.Fprint(w, `"last"]}`)
	}))
	t.Cleanup(big.Close)
	bhost := big.Listener.Addr().String()
	r2 := newResolver(t, cfgFor(bhost))
	_, err = r2.Client().TagList(resolve.WithPageBudget(context.Background(), 5, 1<<20), repoRef(t, bhost+"/app"))
	if !errors.Is(err, resolve.ErrRegistry) {
		t.Fatalf("huge page: err = %v, want ErrRegistry", err)
	}
}

func TestRedirectDropsAuthorization(t *testing.T) {
	t.Parallel()
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			leaked.Store(a)
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(other.Close)
	reg := testregistry.New(t, testregistry.WithBasicAuth("u", "redirect-secret"), testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") && r.Header.Get("Authorization") != "" {
				// Same IP, another port: net/http alone would keep the header.
				http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	reg.PushImage(t, "app", "1")
	dir := writeDockerConfig(t, map[string]any{"auths": map[string]any{reg.Host(): authEntry("u", "redirect-secret")}})
	r := newResolver(t, cfgFor(reg.Host()), resolve.WithDockerConfig(dir), resolve.WithRetry(1, time.Millisecond))
	_ = resolveOne(t, r, key(reg, "app", "1"))
	if a, _ := leaked.Load().(string); a != "" {
		t.Errorf("the redirect target received Authorization %q", a)
	}
}

func TestOversizedManifest(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/manifests/") {
			w.WriteHeader(200)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		if r.Method == http.MethodHead {
			// No digest header: the client must GET the body.
			return
		}
		fmt.Fprint(w, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`)
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064d","size":1},`, i); err != nil {
				return
			}
			if i > 1<<20 {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	r := newResolver(t, cfgFor(host), resolve.WithRetry(1, time.Millisecond))
	k := resolve.Key{Registry: host, Repository: "app", Tag: "1"}
	if res := resolveOne(t, r, k); res.Err == nil {
		t.Fatalf("resolved an oversized manifest: %+v", res)
	}
}

func repoRef(t *testing.T, s string) ref.Ref {
	t.Helper()
	r, err := ref.New(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// nonLoopbackIP returns an IPv4 address of this machine that is not
// loopback, or "" when there is none.
func nonLoopbackIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	return ""
}

// TestNoCredentialOverPlainHTTPListener: a registry reached over plain
// HTTP on an address that is not loopback never receives the credential
// configured for it (checked at its listener); the error says why.
func TestNoCredentialOverPlainHTTPListener(t *testing.T) {
	t.Parallel()
	ip := nonLoopbackIP()
	if ip == "" {
		t.Skip("no non-loopback IPv4 address on this machine")
	}
	var seen atomic.Value
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skip(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			seen.Store(a)
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="r"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	host := l.Addr().String()
	dir := writeDockerConfig(t, map[string]any{"auths": map[string]any{host: authEntry("u", "plain-http-secret")}})
	r := newResolver(t, cfgFor(host), resolve.WithDockerConfig(dir), resolve.WithRetry(1, time.Millisecond))
	k := resolve.Key{Registry: host, Repository: "app", Tag: "1"}
	checkErr(t, resolveOne(t, r, k).Err, resolve.ErrUnauthorized, k, "never sent over plain HTTP")
	if a, _ := seen.Load().(string); a != "" {
		t.Errorf("credential sent over plain HTTP to %s: %q", host, a)
	}
}
