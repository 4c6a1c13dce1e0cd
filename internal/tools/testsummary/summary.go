package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	// ImportPath names the package of build-output and build-fail events.
	ImportPath string
}

// Summary counts tests by outcome and remembers why tests were skipped.
type Summary struct {
	Passed, Failed, Skipped int
	// Reasons maps a skip reason to how many tests gave it.
	Reasons map[string]int

	// output buffers each running test's output until it ends: printed
	// only when it fails.
	output map[string][]string
	// failedTests counts failed tests per package, to tell a package that
	// failed without a failing test (build error, timeout, panic in
	// TestMain) and count it as one failure.
	failedTests map[string]int
	build       map[string][]string
}

func newSummary() *Summary {
	return &Summary{Reasons: map[string]int{}, output: map[string][]string{}, failedTests: map[string]int{}, build: map[string][]string{}}
}

// maxLine bounds one line of go test -json (a test may print a lot).
const maxLine = 16 << 20

func (s *Summary) read(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not JSON: go vet or the go command printing directly.
			fmt.Fprintln(out, string(line))
			continue
		}
		s.event(e, out)
	}
	return sc.Err()
}

func (s *Summary) event(e event, out io.Writer) {
	key := e.Package + " " + e.Test
	switch e.Action {
	case "build-output":
		s.build[e.ImportPath] = append(s.build[e.ImportPath], e.Output)
	case "build-fail":
		for _, l := range s.build[e.ImportPath] {
			io.WriteString(out, l)
		}
	case "output":
		if e.Test == "" {
			// Package lines: "ok  pkg 1.2s", "FAIL pkg", panics, timeouts.
			if !strings.HasPrefix(e.Output, "PASS") && !strings.HasPrefix(e.Output, "=== ") {
				io.WriteString(out, e.Output)
			}
			return
		}
		s.output[key] = append(s.output[key], e.Output)
	case "pass", "fail", "skip":
		if e.Test == "" {
			if e.Action == "fail" {
				if s.failedTests[e.Package] == 0 {
					// Failed without a failing test: show what ran
					// unfinished (a timeout names the test in its output).
					s.Failed++
					s.dumpUnfinished(e.Package, out)
				}
			}
			return
		}
		lines := s.output[key]
		delete(s.output, key)
		switch e.Action {
		case "pass":
			s.Passed++
		case "fail":
			s.Failed++
			s.failedTests[e.Package]++
			for _, l := range lines {
				io.WriteString(out, l)
			}
		case "skip":
			s.Skipped++
			s.Reasons[skipReason(lines)]++
		}
	}
}

func (s *Summary) dumpUnfinished(pkg string, out io.Writer) {
	keys := make([]string, 0)
	for k := range s.output {
		if strings.HasPrefix(k, pkg+" ") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, l := range s.output[k] {
			io.WriteString(out, l)
		}
		delete(s.output, k)
	}
}

// A skip's reason is the last line the test logged before "--- SKIP",
// without the "file_test.go:12: " prefix testing adds.
var (
	logPrefixRe = regexp.MustCompile(`^\s*[\w.-]+\.go:\d+: `)
	// Paths and errors vary by machine; reasons group by their words.
	pathRe = regexp.MustCompile(`(/[^\s:;,)]+)+`)
)

func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		l = logPrefixRe.ReplaceAllString(lines[i], "")
		l = strings.TrimSpace(pathRe.ReplaceAllString(l, "…"))
		if len(l) > 120 {
			l = l[:120] + "…"
		}
		return l
	}
	return "(no reason given)"
}

// finish prints the skip reasons and the count line, last.
func (s *Summary) finish(out io.Writer) {
	if len(s.Reasons) > 0 {
		reasons := make([]string, 0, len(s.Reasons))
		for r := range s.Reasons {
			reasons = append(reasons, r)
		}
		sort.Slice(reasons, func(i, j int) bool {
			if s.Reasons[reasons[i]] != s.Reasons[reasons[j]] {
				return s.Reasons[reasons[i]] > s.Reasons[reasons[j]]
			}
			return reasons[i] < reasons[j]
		})
		fmt.Fprintln(out, "skipped, by reason:")
		for _, r := range reasons {
			fmt.Fprintf(out, "  %4d  %s\n", s.Reasons[r], r)
		}
	}
	fmt.Fprintf(out, "%d passed, %d failed, %d skipped\n", s.Passed, s.Failed, s.Skipped)
}
