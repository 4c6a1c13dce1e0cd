package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/digestbot/digestbot/pkg/finding"
)

// SARIF 2.1.0 as GitHub code scanning accepts it: one rule per status that
// yields results, results located by line and column, help text per rule.

const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

// WriteSARIF writes findings that need attention as a SARIF 2.1.0 log.
// lineText, when not nil, returns a file's line so columns can be given in
// UTF-16 code units as SARIF expects; otherwise byte columns are used.
func WriteSARIF(w io.Writer, findings []finding.Finding, toolVersion string, lineText func(file string, line int) string) error {
	type msg struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown,omitempty"`
	}
	type rule struct {
		ID                   string         `json:"id"`
		Name                 string         `json:"name"`
		ShortDescription     msg            `json:"shortDescription"`
		FullDescription      msg            `json:"fullDescription"`
		Help                 msg            `json:"help"`
		HelpURI              string         `json:"helpUri,omitempty"`
		DefaultConfiguration map[string]any `json:"defaultConfiguration"`
		Properties           map[string]any `json:"properties"`
	}
	type region struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn"`
		EndColumn   int `json:"endColumn"`
	}
	type location struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI       string `json:"uri"`
				URIBaseID string `json:"uriBaseId"`
			} `json:"artifactLocation"`
			Region region `json:"region"`
		} `json:"physicalLocation"`
	}
	type result struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             msg               `json:"message"`
		Locations           []location        `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
	}
	// One rule per status the table gives a SARIF rule, in table order.
	index := map[finding.Status]int{}
	var sarifRules []finding.Info
	var rules []rule
	for _, r := range finding.Infos() {
		if r.Rule == "" {
			continue // ok, pinned and skipped refs need no attention
		}
		index[r.Status] = len(rules)
		sarifRules = append(sarifRules, r)
		rules = append(rules, rule{
			ID: "digestbot/" + string(r.Status), Name: r.Rule,
			ShortDescription:     msg{Text: r.Short},
			FullDescription:      msg{Text: r.Short + "."},
			Help:                 msg{Text: r.Help, Markdown: r.Help},
			HelpURI:              "https://github.com/digestbot/digestbot#" + r.Doc,
			DefaultConfiguration: map[string]any{"level": r.Level},
			Properties: map[string]any{
				"tags":              []string{"security", "supply-chain", "containers"},
				"precision":         "very-high",
				"problem.severity":  map[string]string{"error": "error", "warning": "warning", "note": "recommendation"}[r.Level],
				"security-severity": r.Severity,
			},
		})
	}
	results := []result{}
	for _, f := range findings {
		i, ok := index[f.Status]
		if !ok {
			continue // ok, pinned and skipped refs need no attention
		}
		r := sarifRules[i]
		refLen := len(f.Ref)
		f = Printable(f)
		text := f.Ref + ": " + r.Short
		if f.Message != "" {
			text = f.Ref + ": " + f.Message
		}
		if f.Resolved != nil && f.Status != finding.Error {
			text += " (current digest: " + *f.Resolved + ")"
		}
		start, end := f.Column, f.Column+refLen
		if lineText != nil {
			if line := lineText(f.File, f.Line); len(line) >= end-1 {
				start, end = utf16Col(line, start-1)+1, utf16Col(line, end-1)+1
			}
		}
		var loc location
		loc.PhysicalLocation.ArtifactLocation.URI = uriPath(f.File)
		loc.PhysicalLocation.ArtifactLocation.URIBaseID = "%SRCROOT%"
		loc.PhysicalLocation.Region = region{StartLine: f.Line, StartColumn: start, EndColumn: end}
		sum := sha256.Sum256([]byte(f.File + "\x00" + f.Ref + "\x00" + string(f.Status)))
		results = append(results, result{
			RuleID: rules[i].ID, RuleIndex: i, Level: r.Level,
			Message:             msg{Text: text},
			Locations:           []location{loc},
			PartialFingerprints: map[string]string{"digestbotRef/v1": hex.EncodeToString(sum[:16])},
		})
	}
	log := map[string]any{
		"$schema": sarifSchema,
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name":           "digestbot",
				"version":        toolVersion,
				"informationUri": "https://github.com/digestbot/digestbot",
				"rules":          rules,
			}},
			"columnKind": "utf16CodeUnits",
			"originalUriBaseIds": map[string]any{
				"%SRCROOT%": map[string]any{"description": map[string]string{"text": "The scanned root."}},
			},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

// utf16Col converts a byte offset in line to a count of UTF-16 code units.
func utf16Col(line string, off int) int {
	n := 0
	for i := 0; i < off && i < len(line); {
		r, size := utf8.DecodeRuneInString(line[i:])
		n += len(utf16.Encode([]rune{r}))
		i += size
	}
	return n
}

// uriPath percent-encodes a relative '/'-separated path for a SARIF
// artifact URI (RFC 3986): every byte but unreserved characters and '/'
// is written %XX, so a space, '#', '?', '%' or ':' in a file name cannot
// change what the URI points to.
func uriPath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
