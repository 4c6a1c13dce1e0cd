//go:build !unix

package scan

import (
	"io"
	"io/fs"
	"os"
)

// readCandidate reads at most limit+1 bytes of a regular file; see
// read_unix.go for the fast path used on Unix.
func readCandidate(path string, limit int, follow bool) ([]byte, fs.FileMode, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, false, err
	}
	if !info.Mode().IsRegular() {
		return nil, 0, false, nil
	}
	src, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	return src, info.Mode(), true, err
}
