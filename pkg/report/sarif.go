package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// SARIF 2.1.0 as GitHub code scanning accepts it: one rule per status that
// yields results, results located by line and column, help text per rule.

const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

type sarifRule struct {
	status Status
	name   string
	level  string // error, warning, note
	short  string
	help   string
	// severity is GitHub's security-severity (0–10) shown as a label.
	severity string
}

var sarifRules = []sarifRule{
	{Unpinned, "UnpinnedImage", "warning", "Image reference is not pinned to a digest",
		"A tag is mutable: whoever can push to the registry can change what it means. Pin the reference to the digest of the tag's current index with `digestbot fix`, which rewrites `name:tag` to `name:tag@sha256:…` and keeps the tag readable.", "5.0"},
	{Stale, "StalePin", "warning", "Pinned digest is no longer the tag's current digest",
		"The tag has moved on since the reference was pinned. Run `digestbot fix` to refresh the pin to the tag's current index digest, or keep the old digest on purpose and drop the tag.", "3.0"},
	{Mismatch, "MismatchedPin", "error", "Pinned digest belongs to another tag",
		"Docker ignores the tag when a digest is present, so the image that runs is the other tag's, while every reader trusts the tag written here. `digestbot fix` rewrites the digest to this tag's current digest: that changes which image runs, so review it.", "8.0"},
	{Platform, "PlatformPin", "warning", "Pinned digest is one platform's manifest, not the index",
		"The digest names a single platform's image inside the tag's multi-platform index, so other platforms cannot pull it. `digestbot fix` replaces it with the index digest (set `pins.platform: keep` to keep platform pins).", "4.0"},
	{ImageID, "ImageIDPin", "error", "Pinned digest is an image ID (config digest), not a manifest digest",
		"What `docker images` shows as IMAGE ID is the digest of the image's config, not of its manifest, and cannot be pulled. `digestbot fix` writes the tag's index digest.", "7.0"},
	{Missing, "MissingDigest", "error", "Pinned digest does not exist in the repository",
		"Pulls of this reference fail. `digestbot fix` writes the tag's current digest: that changes which image runs, so review it.", "7.0"},
	{DigestOnly, "DigestOnly", "note", "Reference has a digest but no tag",
		"A digest without a tag cannot be refreshed and tells readers nothing. Add the tag it came from (`name:tag@sha256:…`) so digestbot can keep it fresh.", "1.0"},
	{Error, "ResolveError", "error", "Image reference could not be resolved",
		"The registry could not be asked about this reference (unknown tag or repository, credentials, network). The message says what happened and what to do.", "2.0"},
}

// WriteSARIF writes findings that need attention as a SARIF 2.1.0 log.
// lineText, when not nil, returns a file's line so columns can be given in
// UTF-16 code units as SARIF expects; otherwise byte columns are used.
func WriteSARIF(w io.Writer, findings []Finding, toolVersion string, lineText func(file string, line int) string) error {
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
	index := map[Status]int{}
	var rules []rule
	for i, r := range sarifRules {
		index[r.status] = i
		rules = append(rules, rule{
			ID: "digestbot/" + string(r.status), Name: r.name,
			ShortDescription:     msg{Text: r.short},
			FullDescription:      msg{Text: r.short + "."},
			Help:                 msg{Text: r.help, Markdown: r.help},
			HelpURI:              "https://github.com/digestbot/digestbot#pins-that-lie",
			DefaultConfiguration: map[string]any{"level": r.level},
			Properties: map[string]any{
				"tags":              []string{"security", "supply-chain", "containers"},
				"precision":         "very-high",
				"problem.severity":  map[string]string{"error": "error", "warning": "warning", "note": "recommendation"}[r.level],
				"security-severity": r.severity,
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
		text := f.Ref + ": " + r.short
		if f.Message != "" {
			text = f.Ref + ": " + f.Message
		}
		if f.Resolved != nil && f.Status != Error {
			text += " (current digest: " + *f.Resolved + ")"
		}
		start, end := f.Column, f.Column+len(f.Ref)
		if lineText != nil {
			if line := lineText(f.File, f.Line); len(line) >= end-1 {
				start, end = utf16Col(line, start-1)+1, utf16Col(line, end-1)+1
			}
		}
		var loc location
		loc.PhysicalLocation.ArtifactLocation.URI = f.File
		loc.PhysicalLocation.ArtifactLocation.URIBaseID = "%SRCROOT%"
		loc.PhysicalLocation.Region = region{StartLine: f.Line, StartColumn: start, EndColumn: end}
		sum := sha256.Sum256([]byte(f.File + "\x00" + f.Ref + "\x00" + string(f.Status)))
		results = append(results, result{
			RuleID: rules[i].ID, RuleIndex: i, Level: r.level,
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
