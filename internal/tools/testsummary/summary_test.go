package main

import (
	"bytes"
	"strings"
	"testing"
)

// A recorded `go test -json` stream with every case the summary handles.
const stream = `{"Action":"start","Package":"example.com/a"}
{"Action":"run","Package":"example.com/a","Test":"TestOK"}
{"Action":"output","Package":"example.com/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"example.com/a","Test":"TestOK","Output":"    a_test.go:9: quiet unless it fails\n"}
{"Action":"pass","Package":"example.com/a","Test":"TestOK"}
{"Action":"run","Package":"example.com/a","Test":"TestBad"}
{"Action":"output","Package":"example.com/a","Test":"TestBad","Output":"    a_test.go:12: got 1, want 2\n"}
{"Action":"output","Package":"example.com/a","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"example.com/a","Test":"TestBad"}
{"Action":"output","Package":"example.com/a","Test":"TestReal","Output":"    testregistry.go:156: DIGESTBOT_E2E_REGISTRY is not set: no real registry to test against\n"}
{"Action":"output","Package":"example.com/a","Test":"TestReal","Output":"--- SKIP: TestReal (0.00s)\n"}
{"Action":"skip","Package":"example.com/a","Test":"TestReal"}
{"Action":"output","Package":"example.com/a","Test":"TestReal2","Output":"    testregistry.go:178: DIGESTBOT_E2E_REGISTRY is not set: no real registry to test against\n"}
{"Action":"skip","Package":"example.com/a","Test":"TestReal2"}
{"Action":"output","Package":"example.com/a","Test":"TestCorpus","Output":"    corpus_test.go:20: corpus absent: open /home/x/shared/corpus: no such file or directory\n"}
{"Action":"skip","Package":"example.com/a","Test":"TestCorpus"}
{"Action":"output","Package":"example.com/a","Output":"FAIL\texample.com/a\t0.01s\n"}
{"Action":"fail","Package":"example.com/a"}
{"ImportPath":"example.com/b [example.com/b.test]","Action":"build-output","Output":"b/b_test.go:3:2: undefined: nope\n"}
{"ImportPath":"example.com/b [example.com/b.test]","Action":"build-fail"}
{"Action":"output","Package":"example.com/b","Output":"FAIL\texample.com/b [build failed]\n"}
{"Action":"fail","Package":"example.com/b"}
{"Action":"run","Package":"example.com/c","Test":"TestHang"}
{"Action":"output","Package":"example.com/c","Test":"TestHang","Output":"=== RUN   TestHang\n"}
{"Action":"output","Package":"example.com/c","Output":"panic: test timed out after 1s\n"}
{"Action":"output","Package":"example.com/c","Output":"FAIL\texample.com/c\t1.0s\n"}
{"Action":"fail","Package":"example.com/c"}
{"Action":"output","Package":"example.com/d","Output":"ok  \texample.com/d\t0.1s\n"}
{"Action":"pass","Package":"example.com/d"}
go: downloading example.com/x v1.0.0
`

func TestSummarise(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	s, err := summarise(strings.NewReader(stream), &out)
	if err != nil {
		t.Fatal(err)
	}
	// TestBad, the package that did not build, the one that timed out.
	if s.Passed != 1 || s.Failed != 3 || s.Skipped != 3 {
		t.Errorf("counts = %d passed, %d failed, %d skipped", s.Passed, s.Failed, s.Skipped)
	}
	got := out.String()
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if last := lines[len(lines)-1]; last != "1 passed, 3 failed, 3 skipped" {
		t.Errorf("last line = %q", last)
	}
	for _, want := range []string{
		"a_test.go:12: got 1, want 2",      // a failing test's output
		"b/b_test.go:3:2: undefined: nope", // a build failure
		"=== RUN   TestHang",               // what was running at a timeout
		"panic: test timed out after 1s",   // package output
		"ok  \texample.com/d",              // result lines
		"go: downloading example.com/x",    // lines that are not JSON
		"   2  DIGESTBOT_E2E_REGISTRY is not set: no real registry to test against",
		"   1  corpus absent: open …: no such file or directory",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "quiet unless it fails") {
		t.Errorf("a passing test's output was printed:\n%s", got)
	}
}
