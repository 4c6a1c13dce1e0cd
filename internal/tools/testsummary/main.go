// Command testsummary reads `go test -json` on stdin and prints what a
// person needs from a test run: the output of failing tests (and of
// packages that failed to build or timed out), each package's result
// line, why tests were skipped (no real registry, no ../shared, …), and a
// last line CI can read:
//
//	123 passed, 0 failed, 7 skipped
//
// It exits 1 when anything failed. `make unit` pipes into it with
// pipefail, so go test's own exit code is kept too.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	s, err := summarise(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if s.Failed > 0 {
		os.Exit(1)
	}
}

// summarise is main without the process: tests feed it recorded streams.
func summarise(in io.Reader, out io.Writer) (*Summary, error) {
	s := newSummary()
	if err := s.read(in, out); err != nil {
		return nil, err
	}
	s.finish(out)
	return s, nil
}
