package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// faultyRepo is the one repository the faults below hit; every other
// repository on the same registry stays healthy.
const faultyRepo = "/v2/faulty/app/"

// onFaulty applies fault to requests for faultyRepo only.
func onFaulty(fault faultFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, faultyRepo) {
				fault(w, r, next)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// http.HandlerFunc-like signature with the healthy handler at hand.
type faultFunc = func(w http.ResponseWriter, r *http.Request, next http.Handler)

func status(code int, header ...string) faultFunc {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if r.Method != http.MethodHead {
			fmt.Fprintf(w, `{"errors":[{"code":"UNKNOWN","message":"injected %d"}]}`, code)
		}
	}
}

// hang answers nothing until the client gives up.
func hang(w http.ResponseWriter, r *http.Request, _ http.Handler) {
	select {
	case <-r.Context().Done():
	case <-time.After(time.Minute):
	}
}

// reset closes the connection with a TCP RST before answering.
func reset(w http.ResponseWriter, r *http.Request, _ http.Handler) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("no hijacker")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// noDigestOnHead strips Docker-Content-Digest from HEAD answers (so the
// resolver falls back to GET) and lets get change the GET answer.
func noDigestOnHead(get func(h http.Header, body []byte) []byte) faultFunc {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if !strings.Contains(r.URL.Path, "/manifests/") || (r.Method != http.MethodHead && r.Method != http.MethodGet) {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		body := rec.Body.Bytes()
		if r.Method == http.MethodHead {
			w.Header().Del("Docker-Content-Digest")
		} else if get != nil {
			body = get(w.Header(), body)
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}
}

// TestFaults injects one fault at a time into one repository and checks
// that a fix run ends within its deadline, reports each affected reference
// on exactly one stderr line (file:line: ref: …), fixes every other
// reference, exits 2 and leaves the affected references' bytes alone.
func TestFaults(t *testing.T) {
	t.Parallel()
	const runTimeout = 12 * time.Second
	wrongDigest := "sha256:" + strings.Repeat("0", 64)
	cases := []struct {
		name  string
		fault faultFunc
		// want is in every error line; "" means the fault is survivable
		// and the run must pin everything (exit 0).
		want string
		// conc is --concurrency; 1 with the faulty refs looked up first
		// checks one bad repository does not take its host down.
		conc int
		// lookup is --lookup-timeout; 0 means 1.5s.
		lookup time.Duration
	}{
		{"429", status(429), "rate limited (HTTP 429)", 16, 0},
		{"429-retry-after-1s", status(429, "Retry-After", "1"), "rate limited (HTTP 429)", 16, 0},
		{"429-retry-after-1h", status(429, "Retry-After", "3600"), "asks to wait 1h0m0s", 16, 0},
		{"500", status(500), "HTTP 500", 16, 0},
		{"502", status(502), "HTTP 502", 16, 0},
		{"503", status(503, "Retry-After", "1"), "HTTP 503", 16, 0},
		{"slower-than-deadline", hang, "no answer within 1.5s", 16, 0},
		{"slower-than-deadline-first", hang, "no answer within 1.5s", 1, 0},
		{"connection-reset", reset, "closed unexpectedly", 16, 0},
		{"connection-reset-first", reset, "closed unexpectedly (after 4 attempts)", 1, 5 * time.Second},
		// Long enough for every retry: the attempts run out (rather than
		// the time), the path that used to fail the whole host.
		{"connection-reset-all-attempts", reset, "closed unexpectedly (after 4 attempts)", 16, 5 * time.Second},
		{"401", status(401, "WWW-Authenticate", `Basic realm="test"`), "unauthorized (HTTP 401)", 16, 0},
		{"403", status(403), "access denied (HTTP 403)", 16, 0},
		{"get-digest-header-mismatch", noDigestOnHead(func(h http.Header, body []byte) []byte {
			h.Set("Docker-Content-Digest", wrongDigest)
			return body
		}), "does not match its Docker-Content-Digest", 16, 0},
		{"get-body-tampered", noDigestOnHead(func(h http.Header, body []byte) []byte {
			// Same header digest, one byte more in the body.
			return append(bytes.Clone(body), ' ')
		}), "does not match its Docker-Content-Digest", 16, 0},
		// No digest header anywhere: the resolver GETs the manifest and
		// hashes the bytes itself, which is the digest; nothing to report.
		{"no-digest-header", noDigestOnHead(func(h http.Header, body []byte) []byte {
			h.Del("Docker-Content-Digest")
			return body
		}), "", 16, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lookup := tc.lookup
			if lookup == 0 {
				lookup = 1500 * time.Millisecond
			}
			testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
				reg := newRegistry(t, testregistry.WithHandlerWrap(onFaulty(tc.fault)))
				w := newWorld(t, reg)
				w.push("index library/node:20")
				w.push("image library/alpine:3")
				w.push("index faulty/app:1")
				in := map[string]string{
					".digestbot.yaml": defaultConfig,
					// Walked first: with --concurrency 1 the faulty tag is looked up first.
					"0-faulty/Dockerfile": "FROM faulty/app:1 AS base\nRUN true\n",
					"Dockerfile":          "FROM node:20\nRUN echo hi\nFROM docker.io/faulty/app:1\n",
					"compose.yaml":        "services:\n  web:\n    image: alpine:3\n  app:\n    image: \"faulty/app:1\"\n",
					"k8s/only-faulty.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n" +
						"    - name: a\n      image: index.docker.io/faulty/app:1\n",
					"zz-healthy/Dockerfile": "FROM alpine:3\n",
				}
				w.write(in)
				start := time.Now()
				stdout, stderr, code := w.run("fix", "--concurrency", fmt.Sprint(tc.conc),
					"--lookup-timeout", lookup.String(), "--timeout", runTimeout.String(), "$ROOT")
				elapsed := time.Since(start)
				// All lookups run at once; the slowest ends at its lookup
				// deadline. Generous slack for -race and parallel tests.
				if limit := lookup + 3*time.Second; tc.conc > 1 && elapsed > limit {
					t.Errorf("fix took %s, want under %s", elapsed, limit)
				}
				if elapsed > runTimeout+3*time.Second {
					t.Errorf("fix took %s, past --timeout %s", elapsed, runTimeout)
				}

				pinned := map[string]string{
					"Dockerfile":            "FROM node:20@<node:20>\nRUN echo hi\nFROM docker.io/faulty/app:1\n",
					"compose.yaml":          "services:\n  web:\n    image: alpine:3@<alpine:3>\n  app:\n    image: \"faulty/app:1\"\n",
					"zz-healthy/Dockerfile": "FROM alpine:3@<alpine:3>\n",
				}
				if tc.want == "" {
					if code != 0 {
						t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
					}
					if got := w.read("0-faulty/Dockerfile"); got != "FROM faulty/app:1@<faulty/app:1> AS base\nRUN true\n" {
						t.Errorf("0-faulty/Dockerfile = %q", got)
					}
					return
				}
				if code != 2 {
					t.Errorf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
				}
				for rel, want := range pinned {
					if got := w.read(rel); got != want {
						t.Errorf("%s = %q, want %q\nstderr:\n%s", rel, got, want, stderr)
					}
				}
				for _, rel := range []string{"0-faulty/Dockerfile", "k8s/only-faulty.yaml"} {
					if got := w.read(rel); got != in[rel] {
						t.Errorf("%s changed: %q", rel, got)
					}
				}
				// One line per affected reference, and nothing else.
				wantLines := []string{
					"0-faulty/Dockerfile:1: faulty/app:1: ",
					"Dockerfile:3: docker.io/faulty/app:1: ",
					"compose.yaml:5: faulty/app:1: ",
					"k8s/only-faulty.yaml:7: index.docker.io/faulty/app:1: ",
				}
				lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
				if len(lines) != len(wantLines) {
					t.Errorf("%d stderr lines, want %d:\n%s", len(lines), len(wantLines), stderr)
				}
				for _, prefix := range wantLines {
					n := 0
					for _, l := range lines {
						if strings.HasPrefix(l, prefix) {
							n++
							if !strings.Contains(l, tc.want) {
								t.Errorf("error line %q does not say %q", l, tc.want)
							}
						}
					}
					if n != 1 {
						t.Errorf("%d stderr lines start with %q, want 1:\n%s", n, prefix, stderr)
					}
				}
				if !strings.Contains(stdout, "pinned 3, refreshed 0, skipped 0, errors 4 (3 files changed)") {
					t.Errorf("summary: %s", stdout)
				}
				assertNoTemp(t, w.root)
			})
		})
	}
}

// assertNoTemp fails when an atomic write left a temporary file behind.
func assertNoTemp(t *testing.T, root string) {
	t.Helper()
	for rel := range readTree(t, root) {
		if strings.Contains(rel, ".digestbot-") {
			t.Errorf("temporary file left behind: %s", rel)
		}
	}
}

// TestHangingHostManyRepos: when a whole host stops answering, the
// short-circuit still fails its keys after about one lookup timeout, not
// one per wave, even though a single stalled repository alone no longer
// takes its host down.
func TestHangingHostManyRepos(t *testing.T) {
	t.Parallel()
	reg := testregistry.New(t, testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hang(w, r, next) })
	}))
	w := newWorld(t, reg)
	var df strings.Builder
	n := 0
	for r := 0; r < 8; r++ {
		for tag := 0; tag < 5; tag++ {
			fmt.Fprintf(&df, "FROM acme/repo%d:%d\n", r, tag)
			n++
		}
	}
	w.write(map[string]string{".digestbot.yaml": defaultConfig, "Dockerfile": df.String()})
	const lookup = time.Second
	start := time.Now()
	_, stderr, code := w.run("fix", "--concurrency", "4", "--lookup-timeout", lookup.String(), "$ROOT")
	elapsed := time.Since(start)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	// One host, one failure: one line for all n refs (each said once).
	if lines := strings.Count(stderr, "\n"); lines != 1 || !strings.Contains(stderr, fmt.Sprintf(": %d refs not checked (Dockerfile:1 ", n)) {
		t.Errorf("%d error lines, want 1 naming %d refs:\n%s", lines, n, stderr)
	}
	// 40 tags at 4 at a time would be 10 waves of 1s without the
	// short-circuit; the bound sits well below that and well above the
	// one wave it takes (a loaded 2-core machine took 6.4 s once).
	if elapsed > lookup+7*time.Second {
		t.Errorf("40 tags over 8 repositories on a hanging host took %s", elapsed)
	}
	t.Logf("hanging host: %s", elapsed)
}
