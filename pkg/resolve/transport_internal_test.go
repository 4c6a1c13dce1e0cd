package resolve

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

type recordRT struct{ auth atomic.Value }

func (r *recordRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.auth.Store(req.Header.Get("Authorization"))
	return httptest.NewRecorder().Result(), nil
}

// No credential is sent over plain HTTP to a host that is not loopback; on
// loopback (test and local registries) and over HTTPS it is.
func TestNoCredentialOverPlainHTTP(t *testing.T) {
	t.Parallel()
	tr := &transport{}
	for _, tc := range []struct {
		url  string
		sent bool
	}{
		{"http://registry.example.com/v2/", false},
		{"http://10.0.0.5:5000/v2/", false},
		{"http://auth.example.com/token", false},
		{"https://registry.example.com/v2/", true},
		{"http://127.0.0.1:5000/v2/", true},
		{"http://localhost:5000/v2/", true},
		{"http://[::1]:5000/v2/", true},
	} {
		rt := &recordRT{}
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		req.Header.Set("Authorization", "Basic c2VjcmV0OnNlY3JldA==")
		if _, err := tr.send(rt, req); err != nil {
			t.Fatal(err)
		}
		got, _ := rt.auth.Load().(string)
		if sent := got != ""; sent != tc.sent {
			t.Errorf("%s: Authorization sent = %v, want %v", tc.url, sent, tc.sent)
		}
		if req.Header.Get("Authorization") == "" {
			t.Errorf("%s: the caller's request was modified", tc.url)
		}
	}
}

func TestCheckRedirect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from, to string
		keep     bool
	}{
		{"https://reg.example.com/v2/a", "https://reg.example.com/v2/b", true},
		{"https://reg.example.com/v2/a", "https://reg.example.com:443/v2/b", true},
		{"https://reg.example.com/v2/a", "https://reg.example.com:8443/v2/b", false},
		{"https://reg.example.com/v2/a", "https://cdn.reg.example.com/v2/b", false},
		{"https://reg.example.com/v2/a", "http://reg.example.com/v2/b", false},
		{"http://127.0.0.1:5000/v2/a", "http://127.0.0.1:5001/v2/b", false},
	} {
		prev, _ := http.NewRequest(http.MethodGet, tc.from, nil)
		next, _ := http.NewRequest(http.MethodGet, tc.to, nil)
		next.Header.Set("Authorization", "Bearer x")
		if err := checkRedirect(next, []*http.Request{prev}); err != nil {
			t.Fatal(err)
		}
		if kept := next.Header.Get("Authorization") != ""; kept != tc.keep {
			t.Errorf("%s → %s: Authorization kept = %v, want %v", tc.from, tc.to, kept, tc.keep)
		}
	}
	var via []*http.Request
	for range 10 {
		r, _ := http.NewRequest(http.MethodGet, "https://a/", nil)
		via = append(via, r)
	}
	r, _ := http.NewRequest(http.MethodGet, "https://a/", nil)
	if err := checkRedirect(r, via); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("11th redirect followed: %v", err)
	}
}
