package report

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/xeipuuv/gojsonschema"

	// The SARIF 2.1.0 schema ships inside go-sarif's source; this import
	// keeps the module available so the test can read the schema from it.
	_ "github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

// sarifSchemaJSON reads the official SARIF 2.1.0 JSON schema from the
// go-sarif module's source in the module cache.
func sarifSchemaJSON(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", "github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif").Output()
	if err != nil {
		t.Fatalf("locating go-sarif: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "schema.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)const schema = `(.*?)`").FindSubmatch(src)
	if m == nil {
		t.Fatal("schema constant not found in go-sarif's schema.go")
	}
	return string(m[1])
}

func TestWriteSARIFValidates(t *testing.T) {
	t.Parallel()
	d := "sha256:" + strings.Repeat("a", 64)
	findings := []finding.Finding{
		{File: "Dockerfile", Line: 1, Column: 6, Kind: "dockerfile", Ref: "node:20", Status: finding.Unpinned, Resolved: finding.Str(d)},
		{File: "deploy/é.yaml", Line: 3, Column: 14, Kind: "kubernetes", Ref: "ubuntu:20.04@" + d, Status: finding.Mismatch, Resolved: finding.Str(d), Message: "ubuntu:20.04 is pinned to the digest of ubuntu:16.04"},
		{File: "compose.yaml", Line: 2, Column: 12, Kind: "compose", Ref: "x:1", Status: finding.Error, Message: "docker.io/library/x:1: tag not found"},
		{File: "compose.yaml", Line: 4, Column: 12, Kind: "compose", Ref: "y:1@" + d, Status: finding.OK, Resolved: finding.Str(d)},
		{File: "compose.yaml", Line: 5, Column: 12, Kind: "compose", Ref: "${X}", Status: finding.Skipped},
	}
	var buf bytes.Buffer
	lines := map[string]string{"deploy/é.yaml:3": "      image: \"ubuntu:20.04@" + d + "\" # é"}
	lineText := func(file string, line int) string { return lines[file+":"+strconv.Itoa(line)] }
	if err := WriteSARIF(&buf, findings, "v1.0.0", lineText); err != nil {
		t.Fatal(err)
	}
	res, err := gojsonschema.Validate(gojsonschema.NewStringLoader(sarifSchemaJSON(t)), gojsonschema.NewBytesLoader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors() {
		t.Errorf("schema: %s", e)
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
						Region           struct{ StartLine, StartColumn, EndColumn int }
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Results) != 3 {
		t.Fatalf("results = %d, want 3 (ok and skipped refs left out)", len(run.Results))
	}
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("ruleIndex %d does not name %s", r.RuleIndex, r.RuleID)
		}
	}
	if r := run.Results[1]; r.RuleID != "digestbot/mismatch" || r.Level != "error" {
		t.Errorf("mismatch result = %+v", r)
	}
	// Byte column 14 is UTF-16 column 14 here (ASCII before it); the ref is
	// 12+1+71 bytes long.
	reg := run.Results[1].Locations[0].PhysicalLocation.Region
	if reg.StartLine != 3 || reg.StartColumn != 14 || reg.EndColumn != 14+len("ubuntu:20.04@"+d) {
		t.Errorf("region = %+v", reg)
	}
}

func TestUTF16Col(t *testing.T) {
	t.Parallel()
	line := "é😀x"
	for off, want := range map[int]int{0: 0, 2: 1, 6: 3, 7: 4} {
		if got := utf16Col(line, off); got != want {
			t.Errorf("utf16Col(%d) = %d, want %d", off, got, want)
		}
	}
}

// TestSARIFSchemaRejects proves the schema check can fail.
func TestSARIFSchemaRejects(t *testing.T) {
	t.Parallel()
	bad := `{"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"message": {"text": "x"}, "level": "loud"}]}]}`
	res, err := gojsonschema.Validate(gojsonschema.NewStringLoader(sarifSchemaJSON(t)), gojsonschema.NewStringLoader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if res.Valid() {
		t.Error("an invalid SARIF log passed the schema")
	}
}

func TestSARIFURIEncoded(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"deploy/app.yaml":        "deploy/app.yaml",
		"a b/Dockerfile":         "a%20b/Dockerfile",
		"x#y?z%/Dockerfile":      "x%23y%3Fz%25/Dockerfile",
		"c:/Dockerfile":          "c%3A/Dockerfile",
		"caf\u00e9/x\ny":         "caf%C3%A9/x%0Ay",
		"../../etc/passwd/../..": "../../etc/passwd/../..",
	} {
		if got := uriPath(in); got != want {
			t.Errorf("uriPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDocAnchors checks that every SARIF rule's helpUri names a heading of
// the README, as GitHub slugs it (lower case; punctuation but "-" and "_"
// dropped; spaces become "-"), so a code-scanning alert links to the
// section that explains its status.
func TestDocAnchors(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	slugs := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		slugs[b.String()] = true
	}
	for _, info := range finding.Infos() {
		if info.Rule == "" {
			continue
		}
		if info.Doc == "" || !slugs[info.Doc] {
			t.Errorf("status %s: Doc anchor %q is not a README heading", info.Status, info.Doc)
		}
	}
}
