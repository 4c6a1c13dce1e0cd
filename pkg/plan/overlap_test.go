package plan_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/internal/testregistry"
	"github.com/digestbot/digestbot/pkg/plan"
)

// TestRunResolvesWhileScanning: the run looks tags up while the scan goes
// on. Halfway through the candidate files the scan's progress callback
// holds its walking goroutine until a manifest request has reached the
// registry; a run that resolved only after the scan would never send one
// there, and the hold would time out. The order of events is asserted (a
// sequence number), not wall time. Each tag is still looked up exactly
// once, and two runs give the same findings in the same order.
func TestRunResolvesWhileScanning(t *testing.T) {
	t.Parallel()
	var seq atomic.Int64
	var firstHead atomic.Int64 // seq of the first manifest request
	headSeen := make(chan struct{})
	reg := testregistry.New(t, testregistry.WithHandlerWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodHead {
				if firstHead.CompareAndSwap(0, seq.Add(1)) {
					close(headSeen)
				}
			}
			next.ServeHTTP(w, r)
		})
	}))
	const tags, files = 12, 240
	want := map[string]string{}
	for i := range tags {
		tag := fmt.Sprintf("1.%d", i)
		want[tag] = reg.PushImage(t, "library/nginx", tag).Digest
	}
	reg.ResetCounts()

	root := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".digestbot.yaml", "registries:\n  docker.io: {host: "+reg.Host()+", tls: disabled}\n")
	for i := range files {
		write(fmt.Sprintf("svc%03d/Dockerfile", i), fmt.Sprintf("FROM nginx:1.%d\n", i%tags))
		write(fmt.Sprintf("svc%03d/main.go", i), "package main\n")
	}

	var lastFile atomic.Int64 // seq of the last candidate file read
	var held atomic.Bool
	var holdErr error
	var mu sync.Mutex
	progress := plan.Progress{Files: func(n int) {
		if n == files/2 {
			held.Store(true)
			select {
			case <-headSeen:
			case <-time.After(30 * time.Second):
				mu.Lock()
				holdErr = fmt.Errorf("no manifest request reached the registry while the scan was held halfway (%d of %d files read)", n, files)
				mu.Unlock()
			}
		}
		lastFile.Store(seq.Add(1))
	}}
	ctx := context.Background()
	out, err := plan.Run(ctx, plan.Options{Paths: []string{root}, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	if holdErr != nil {
		t.Fatal(holdErr)
	}
	if !held.Load() {
		t.Fatalf("the scan never reported file %d of %d", files/2, files)
	}
	if f, l := firstHead.Load(), lastFile.Load(); f == 0 || f > l {
		t.Errorf("first manifest HEAD was event %d, the scan's last file event %d: want the HEAD first", f, l)
	}

	if len(out.Findings) != files {
		t.Fatalf("%d findings, want %d", len(out.Findings), files)
	}
	for _, fd := range out.Findings {
		tag := finding.Deref(fd.Tag)
		if fd.Status != finding.Unpinned || finding.Deref(fd.Resolved) != want[tag] {
			t.Fatalf("%s:%d %s: status %s, resolved %s; want unpinned, %s", fd.File, fd.Line, fd.Ref, fd.Status, finding.Deref(fd.Resolved), want[tag])
		}
	}
	c := reg.Counts()
	for tag := range want {
		if n := c.ManifestHead["library/nginx:"+tag]; n != 1 {
			t.Errorf("HEADs of nginx:%s = %d, want exactly 1", tag, n)
		}
	}
	if c.Gets() != 0 {
		t.Errorf("%d manifest GETs, want none", c.Gets())
	}

	// The order is the files', not the lookups'.
	again, err := plan.Run(ctx, plan.Options{Paths: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Findings, again.Findings) {
		t.Error("two runs gave different findings or order")
	}
	for i := 1; i < len(out.Findings); i++ {
		if out.Findings[i-1].File > out.Findings[i].File {
			t.Fatalf("findings out of file order at %d: %s after %s", i, out.Findings[i].File, out.Findings[i-1].File)
		}
	}
}
