//go:build unix

package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"go.yaml.in/yaml/v3"

	"github.com/digestbot/digestbot/rewriters"
)

// The floors are what the hardware and the registry allow, measured in the
// same run as digestbot so that ratios compare like with like:
//
//   - the walk floor: a parallel directory walk (a shared queue of
//     folders; the faster of one goroutine per core and eight) that
//     reads every file digestbot's formats would consider a candidate,
//     with os.ReadFile, and does nothing else;
//   - the parse floor: the same walk, which also parses each image file
//     with the parsers digestbot is built on and must use (yaml.v3 into
//     nodes, every document; BuildKit's Dockerfile parser) and does
//     nothing with the result: what any scan on those libraries costs
//     before it has found one reference;
//   - the HEAD loop (the registry floor): a minimal loop of concurrent
//     manifest HEADs, one per unique tag, over one keep-alive client,
//     with no auth, retries, parsing or bookkeeping.
//
// digestbot cannot be faster than any of them; `scan` is compared with the
// first two, `check` with max(scan, HEAD loop) and with the CPU floor
// (Result.printRatios): on a machine whose cores the registry shares, the
// scan's and the registry's CPU time add up.

// WalkFloor walks root in parallel with workers goroutines and reads every
// candidate file. When parse is not nil it is called with each candidate's
// path relative to root ('/'-separated) and content, from the walking
// goroutines. It returns the wall time and the files read.
func WalkFloor(root string, workers int, parse func(rel string, b []byte) error) (time.Duration, int, error) {
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
				name := filepath.ToSlash(filepath.Join(rel, e.Name()))
				if rewriters.Candidate(name) {
					b, err := os.ReadFile(p)
					if err == nil && parse != nil {
						err = parse(name, b)
					}
					if err != nil {
						mu.Lock()
						firstEr = cmp.Or(firstEr, err)
						mu.Unlock()
						continue
					}
					read.Add(1)
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

// ParseImageFiles returns the parse floor's parse function: the files in
// images (paths relative to the root, '/'-separated, mapped to whether each
// is a Dockerfile: Tree.ImagePaths) are parsed, with BuildKit's parser or
// with yaml.v3 (every document into a yaml.Node); other candidates are
// only read.
func ParseImageFiles(images map[string]bool) func(rel string, b []byte) error {
	return func(rel string, b []byte) error {
		dockerfile, ok := images[rel]
		if !ok {
			return nil
		}
		if dockerfile {
			if _, err := parser.Parse(bytes.NewReader(b)); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			return nil
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
	}
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
