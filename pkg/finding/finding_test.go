package finding

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestTable checks the table's invariants: every status once, a SARIF rule
// for every status that needs action, a change word for every status fix
// changes, and ChangesImage only where fix acts.
func TestTable(t *testing.T) {
	t.Parallel()
	seen := map[Status]bool{}
	rules := map[string]bool{}
	for _, i := range Infos() {
		if seen[i.Status] {
			t.Errorf("%s listed twice", i.Status)
		}
		seen[i.Status] = true
		if i.Short == "" {
			t.Errorf("%s has no short description", i.Status)
		}
		if i.NeedsAction && (i.Rule == "" || i.Why == "" || i.WhyText == "") {
			t.Errorf("%s needs action but has no SARIF rule or change word", i.Status)
		}
		if i.NeedsAction && (i.Advice == "" || i.AdviceText == "") {
			t.Errorf("%s needs action but has no advice for comments", i.Status)
		}
		if i.ChangesImage != (i.Loud != "") {
			t.Errorf("%s: ChangesImage %v but Loud %q", i.Status, i.ChangesImage, i.Loud)
		}
		if i.ChangesImage && !i.NeedsAction {
			t.Errorf("%s changes the image but needs no action", i.Status)
		}
		if i.Rule != "" {
			if rules[i.Rule] {
				t.Errorf("SARIF rule %s used twice", i.Rule)
			}
			rules[i.Rule] = true
			switch i.Level {
			case "error", "warning", "note":
			default:
				t.Errorf("%s: SARIF level %q", i.Status, i.Level)
			}
		}
	}
	// The contract's words, in order.
	want := "unpinned pinned ok stale mismatch platform image-id missing unsigned digest-only skipped error"
	var got []string
	for _, s := range Statuses() {
		got = append(got, string(s))
	}
	if strings.Join(got, " ") != want {
		t.Errorf("statuses = %v, want %s", got, want)
	}
}

func TestStatusMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s                   Status
		action, loud, known bool
		why                 string
	}{
		{Unpinned, true, false, true, "pin"},
		{Stale, true, false, true, "refresh"},
		{Mismatch, true, true, true, "mismatch"},
		{Missing, true, true, true, "missing"},
		{OK, false, false, true, "ok"},
		{Skipped, false, false, true, "skipped"},
		{Status("nonsense"), false, false, false, "nonsense"},
	}
	for _, tt := range tests {
		if got := tt.s.NeedsAction(); got != tt.action {
			t.Errorf("%s.NeedsAction() = %v", tt.s, got)
		}
		if got := tt.s.ChangesImage(); got != tt.loud {
			t.Errorf("%s.ChangesImage() = %v", tt.s, got)
		}
		if got := tt.s.Known(); got != tt.known {
			t.Errorf("%s.Known() = %v", tt.s, got)
		}
		if got := (Change{Status: tt.s}).Why(); got != tt.why {
			t.Errorf("%s.Why() = %q, want %q", tt.s, got, tt.why)
		}
	}
}

func TestFindingJSONNulls(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Finding{File: "Dockerfile", Line: 1, Column: 6, Kind: "dockerfile", Ref: "node:20", Image: Str("docker.io/library/node"), Tag: Str("20"), Status: Unpinned})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"file":"Dockerfile","line":1,"column":6,"kind":"dockerfile","ref":"node:20","image":"docker.io/library/node","tag":"20","digest":null,"status":"unpinned","resolved":null,"message":""}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestSortAndProblem(t *testing.T) {
	t.Parallel()
	fs := []Finding{{File: "b", Line: 1}, {File: "a", Line: 3, Column: 2}, {File: "a", Line: 3, Column: 1}}
	Sort(fs)
	if fs[0].Column != 1 || fs[1].Column != 2 || fs[2].File != "b" {
		t.Errorf("Sort: %+v", fs)
	}
	if got := (Problem{File: "x", Line: 2, Message: "m"}).String(); got != "x:2: m" {
		t.Errorf("Problem = %q", got)
	}
	if got := (Problem{File: "x", Message: "m"}).String(); got != "x: m" {
		t.Errorf("Problem = %q", got)
	}
}
