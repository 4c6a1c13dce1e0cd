package plan

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/digestbot/digestbot/internal/atomicfile"
)

// writeConcurrency bounds the files written at once. Each atomic write
// costs two fsyncs (the file, then its folder), which dominate fix on large
// trees when done one after another; concurrent fsyncs are batched by the
// filesystem (5,000 files: 35 s one at a time, a few seconds this way).
const writeConcurrency = 32

// Write writes every file change, several at once, and returns one error
// (or nil) per file. When ctx ends, files being written are finished (each
// write is atomic), no new one is started, and ctx's error is returned:
// every file is then either its old or its new version.
func Write(ctx context.Context, files []FileChange) ([]error, error) {
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(writeConcurrency, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = writeOne(files[i])
			}
		}()
	}
feed:
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
			break feed
		case next <- i:
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return errs, nil
}

// writeOne replaces one file, unless it changed since it was scanned. The
// check and the write go through one folder opened inside the root
// (atomicfile.Replace), so nothing outside the root is read or written.
func writeOne(fc FileChange) error {
	err := atomicfile.Replace(fc.File.Root, fc.File.Abs, fc.File.Src, fc.New)
	switch {
	case errors.Is(err, atomicfile.ErrChanged):
		return ErrChanged
	case err != nil:
		return fmt.Errorf("cannot write: %w; the file is unchanged", err)
	}
	return nil
}
