//go:build unix

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digestbot/digestbot/rewriters"
)

// The floors are what the hardware and the registry allow, measured in the
// same run as digestbot so that ratios compare like with like:
//
//   - the walk floor: a parallel directory walk (one goroutine per core, a
//     shared queue of folders) that reads every file digestbot's formats
//     would consider a candidate, with os.ReadFile, and does nothing else;
//   - the registry floor: a minimal loop of concurrent manifest HEADs, one
//     per unique tag, over one keep-alive client, with no auth, retries,
//     parsing or bookkeeping.
//
// digestbot cannot be faster than either; `scan` is compared with the
// first, `check` with max(first, second).

// WalkFloor walks root in parallel with workers goroutines and reads every
// candidate file. It returns the wall time and the files read.
func WalkFloor(root string, workers int) (time.Duration, int, error) {
	if workers < 1 {
		workers = 1
	}
	t0 := time.Now()
	var (
		read    atomic.Int64
		pending sync.WaitGroup
		mu      sync.Mutex
		firstEr error
	)
	dirs := make(chan string, 1<<16)
	var visit func(dir string)
	visit = func(dir string) {
		defer pending.Done()
		ents, err := os.ReadDir(dir)
		if err != nil {
			mu.Lock()
			if firstEr == nil {
				firstEr = err
			}
			mu.Unlock()
			return
		}
		rel, _ := filepath.Rel(root, dir)
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			switch {
			case e.IsDir():
				if e.Name() == ".git" {
					continue
				}
				pending.Add(1)
				select {
				case dirs <- p:
				default:
					visit(p) // queue full: walk it here
				}
			case e.Type().IsRegular():
				if rewriters.Candidate(filepath.ToSlash(filepath.Join(rel, e.Name()))) {
					if _, err := os.ReadFile(p); err == nil {
						read.Add(1)
					}
				}
			}
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range dirs {
				visit(d)
			}
		}()
	}
	pending.Add(1)
	dirs <- root
	pending.Wait()
	close(dirs)
	wg.Wait()
	return time.Since(t0), int(read.Load()), firstEr
}

// HeadFloor sends one manifest HEAD per tag in tags ("repository path" →
// tags) to host over plain HTTP with conc requests in flight, and returns
// the wall time. Every answer must be 200.
func HeadFloor(ctx context.Context, host string, tags [][2]string, conc int) (time.Duration, error) {
	if conc < 1 {
		conc = 1
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	work := make(chan [2]string)
	var failed atomic.Value
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				req, err := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+host+"/v2/"+t[0]+"/manifests/"+t[1], nil)
				if err == nil {
					req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json")
					var resp *http.Response
					resp, err = client.Do(req)
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("HEAD %s:%s: %s", t[0], t[1], resp.Status)
						}
					}
				}
				if err != nil {
					failed.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for _, t := range tags {
		work <- t
	}
	close(work)
	wg.Wait()
	d := time.Since(t0)
	if err, _ := failed.Load().(error); err != nil {
		return d, err
	}
	return d, nil
}
