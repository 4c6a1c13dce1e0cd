package pullreq

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/digestbot/digestbot/pkg/internal/fakegithub"
	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// actionYAML is the part of action.yml the tests read.
type actionYAML struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Name             string            `yaml:"name"`
			ID               string            `yaml:"id"`
			Uses             string            `yaml:"uses"`
			With             map[string]string `yaml:"with"`
			Shell            string            `yaml:"shell"`
			Run              string            `yaml:"run"`
			Env              map[string]string `yaml:"env"`
			WorkingDirectory string            `yaml:"working-directory"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func readAction(t *testing.T) actionYAML {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionYAML
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

var exprRe = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// actionRun is one run of the Action as the runner would do it.
type actionRun struct {
	inputs    map[string]string
	workspace string
	env       map[string]string // GITHUB_* and the like
	// only, when set, runs only the step with this id (the test supplies
	// $RUNNER_TEMP/digestbot itself).
	only string
}

// actionResult holds each step's exit code and outputs, and the Action's.
type actionResult struct {
	code    int // exit code of the last step run
	output  string
	outputs map[string]string // the Action's outputs (outputs.*.value resolved)
}

// runAction evaluates action.yml's expressions the way the runner does
// (inputs with defaults, github.action_path, github.token), and runs every
// `run:` step with bash as composite actions do. The setup-go `uses:` step
// is skipped: the test runs with Go already installed.
func runAction(t *testing.T, a actionYAML, r actionRun) actionResult {
	t.Helper()
	root := repoRoot(t)
	inputs := map[string]string{}
	for name, in := range a.Inputs {
		inputs[name] = in.Default
	}
	for k, v := range r.inputs {
		inputs[k] = v
	}
	eval := func(s string) string {
		return exprRe.ReplaceAllStringFunc(s, func(m string) string {
			expr := strings.TrimSpace(exprRe.FindStringSubmatch(m)[1])
			switch {
			case strings.HasPrefix(expr, "inputs."):
				v, ok := inputs[strings.TrimPrefix(expr, "inputs.")]
				if !ok {
					t.Fatalf("action.yml uses unknown %s", expr)
				}
				return eval1(t, v, r)
			case expr == "github.action_path":
				return root
			case expr == "github.token":
				return r.env["GITHUB_TOKEN"]
			case expr == "github.action_ref":
				return r.env["GITHUB_ACTION_REF"]
			}
			t.Fatalf("action.yml uses %s, which the test does not evaluate", expr)
			return ""
		})
	}
	stepOutputs := map[string]map[string]string{}
	res := actionResult{outputs: map[string]string{}}
	for i, step := range a.Runs.Steps {
		if r.only != "" && step.ID != r.only {
			continue
		}
		if step.Uses != "" {
			if !regexp.MustCompile(`^[\w.-]+/[\w.-]+@[0-9a-f]{40}$`).MatchString(step.Uses) {
				t.Errorf("step %d uses %q: not pinned to a commit SHA", i, step.Uses)
			}
			continue
		}
		if strings.Contains(step.Run, "${{") {
			t.Fatalf("step %q interpolates an expression into its script (script injection); pass it through env", step.Name)
		}
		if step.Shell != "bash" {
			t.Fatalf("step %q: shell %q, want bash", step.Name, step.Shell)
		}
		tmp := t.TempDir()
		script := filepath.Join(tmp, "script.sh")
		if err := os.WriteFile(script, []byte(step.Run), 0o644); err != nil {
			t.Fatal(err)
		}
		outFile := filepath.Join(tmp, "output")
		if err := os.WriteFile(outFile, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		cmd.Dir = r.workspace
		if step.WorkingDirectory != "" {
			cmd.Dir = eval(step.WorkingDirectory)
		}
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			// The host's own GitHub and runner settings must not leak in.
			if strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "RUNNER_") || strings.HasPrefix(k, "INPUT_") || k == "DOCKER_CONFIG" {
				continue
			}
			env[k] = v
		}
		for k, v := range r.env {
			env[k] = v
		}
		env["GITHUB_OUTPUT"] = outFile
		env["GITHUB_ACTION_PATH"] = root
		for k, v := range step.Env {
			env[k] = eval(v)
		}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("step %q took %s", step.Name, time.Since(start))
		res.output += string(out)
		res.code = 0
		if err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatalf("step %q: %v", step.Name, err)
			}
			res.code = ee.ExitCode()
		}
		outs := map[string]string{}
		b, _ := os.ReadFile(outFile)
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				outs[k] = v
			}
		}
		if step.ID != "" {
			stepOutputs[step.ID] = outs
		}
		if res.code != 0 {
			break
		}
	}
	stepRe := regexp.MustCompile(`^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$`)
	for name, o := range a.Outputs {
		m := stepRe.FindStringSubmatch(o.Value)
		if m == nil {
			t.Fatalf("output %s: value %q is not a step output", name, o.Value)
		}
		res.outputs[name] = stepOutputs[m[1]][m[2]]
	}
	return res
}

// eval1 returns an input's value; input defaults may hold expressions too.
func eval1(t *testing.T, v string, r actionRun) string {
	return exprRe.ReplaceAllStringFunc(v, func(m string) string {
		switch strings.TrimSpace(exprRe.FindStringSubmatch(m)[1]) {
		case "github.token":
			return r.env["GITHUB_TOKEN"]
		}
		t.Fatalf("input default %q not evaluated by the test", v)
		return ""
	})
}

// actionWorld is a workspace, a test registry standing in for Docker Hub,
// and the fake GitHub, wired as a workflow would see them.
type actionWorld struct {
	reg       *testregistry.Registry
	fake      *fakegithub.Server
	workspace string
	env       map[string]string
}

func newActionWorld(t *testing.T, files map[string]string) *actionWorld {
	t.Helper()
	w := &actionWorld{reg: testregistry.New(t), fake: fakegithub.New(t, "acme", "shop"), workspace: t.TempDir()}
	files[".digestbot.yaml"] = fmt.Sprintf("registries:\n  docker.io:\n    host: %s\n    tls: disabled\n", w.reg.Host())
	for p, c := range files {
		full := filepath.Join(w.workspace, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runner := t.TempDir()
	w.env = map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_TOKEN":        "workflow-token",
		"GITHUB_REPOSITORY":   "acme/shop",
		"GITHUB_API_URL":      strings.TrimSuffix(w.fake.URL, "/"),
		"GITHUB_WORKSPACE":    w.workspace,
		"GITHUB_STEP_SUMMARY": filepath.Join(runner, "summary.md"),
		"RUNNER_TEMP":         runner,
		"DOCKER_CONFIG":       t.TempDir(),
	}
	return w
}

func needBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	if testing.Short() {
		t.Skip("builds digestbot; skipped with -short")
	}
}

func TestActionPR(t *testing.T) {
	t.Parallel()
	needBash(t)
	a := readAction(t)
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using = %q", a.Runs.Using)
	}
	files := map[string]string{
		"Dockerfile": "FROM nginx:1.27\nRUN echo hi\n",
		"README.md":  "# shop\n",
	}
	w := newActionWorld(t, files)
	idx := w.reg.PushIndex(t, "library/nginx", "1.27")
	var seed []fakegithub.File
	for p, c := range files {
		seed = append(seed, fakegithub.File{Path: p, Content: c})
	}
	w.fake.Commit("main", "initial", seed...)

	res := runAction(t, a, actionRun{inputs: map[string]string{"command": "pr"}, workspace: w.workspace, env: w.env})
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.output)
	}
	got := w.fake.Files("digestbot/pin-digests")
	if got["Dockerfile"] != "FROM nginx:1.27@"+idx.Digest+"\nRUN echo hi\n" || got["README.md"] != "# shop\n" || len(got) != 3 {
		t.Errorf("branch files = %q", got)
	}
	prs := w.fake.PRs()
	if len(prs) != 1 || prs[0].State != "open" || !strings.Contains(prs[0].Body, "`Dockerfile:1`") {
		t.Fatalf("pull requests = %+v", prs)
	}
	want := map[string]string{"exit-code": "0", "pr-number": "1", "pr-url": "https://github.example/acme/shop/pull/1", "pr-action": "created", "changes": "1", "files": "1"}
	for k, v := range want {
		if res.outputs[k] != v {
			t.Errorf("output %s = %q, want %q (all: %v)", k, res.outputs[k], v, res.outputs)
		}
	}
	for _, c := range w.fake.Calls() {
		if c.Token != "workflow-token" {
			t.Errorf("%s sent token %q", c, c.Token)
		}
	}
	if strings.Contains(res.output, "workflow-token") {
		t.Error("the token was printed")
	}

	// Again, with nothing new: no writes.
	w.fake.ResetCalls()
	res = runAction(t, a, actionRun{inputs: map[string]string{"command": "pr"}, workspace: w.workspace, env: w.env})
	if res.code != 0 || res.outputs["pr-action"] != "unchanged" {
		t.Fatalf("second run: exit %d, outputs %v\n%s", res.code, res.outputs, res.output)
	}
	if wr := w.fake.Writes(); len(wr) != 0 {
		t.Errorf("second run wrote %v", wr)
	}
}

func TestActionComment(t *testing.T) {
	t.Parallel()
	needBash(t)
	a := readAction(t)
	// The checkout is the pull request's head: it adds web/Dockerfile.
	head := map[string]string{
		"Dockerfile":     "FROM nginx:1.27@PINNED\n",
		"web/Dockerfile": "FROM nginx:1.27\nCOPY . /usr/share/nginx/html\n",
	}
	w := newActionWorld(t, map[string]string{})
	idx := w.reg.PushIndex(t, "library/nginx", "1.27")
	head["Dockerfile"] = "FROM nginx:1.27@" + idx.Digest + "\n"
	for p, c := range head {
		full := filepath.Join(w.workspace, filepath.FromSlash(p))
		_ = os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The base branch holds the config too: comment takes registries
	// from the base's config, never from the pull request's head.
	cfg, err := os.ReadFile(filepath.Join(w.workspace, ".digestbot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w.fake.Seed("main", map[string]string{"Dockerfile": head["Dockerfile"], ".digestbot.yaml": string(cfg)})
	w.fake.Branch("feature", "main")
	headSHA := w.fake.Commit("feature", "add web", fakegithub.File{Path: "web/Dockerfile", Content: head["web/Dockerfile"]})
	n := w.fake.OpenPR("feature", "main", "Add web", "", "alice")
	event := filepath.Join(t.TempDir(), "event.json")
	ev, _ := json.Marshal(map[string]any{"number": n, "pull_request": map[string]any{"number": n, "head": map[string]any{"sha": headSHA}}})
	if err := os.WriteFile(event, ev, 0o644); err != nil {
		t.Fatal(err)
	}
	w.env["GITHUB_EVENT_PATH"] = event

	// Gate on: the step fails because a changed line needs a pin.
	res := runAction(t, a, actionRun{inputs: map[string]string{"command": "comment"}, workspace: w.workspace, env: w.env})
	if res.code != 1 || res.outputs["exit-code"] != "1" || res.outputs["needs-action"] != "1" || res.outputs["checked"] != "1" {
		t.Fatalf("exit %d, outputs %v\n%s", res.code, res.outputs, res.output)
	}
	rc := w.fake.ReviewComments(n)
	if len(rc) != 1 || rc[0].Path != "web/Dockerfile" || rc[0].Line != 1 ||
		!strings.Contains(rc[0].Body, "```suggestion\nFROM nginx:1.27@"+idx.Digest+"\n```") {
		t.Fatalf("review comments = %+v", rc)
	}

	// Gate off, second run: exit 0, still one summary and one suggestion.
	res = runAction(t, a, actionRun{inputs: map[string]string{"command": "comment", "fail-on-findings": "false"}, workspace: w.workspace, env: w.env})
	if res.code != 0 || res.outputs["exit-code"] != "1" {
		t.Fatalf("exit %d, outputs %v\n%s", res.code, res.outputs, res.output)
	}
	comments := w.fake.Comments(n)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "`web/Dockerfile:1`") || len(w.fake.ReviewComments(n)) != 1 {
		t.Errorf("comments %+v, %d review comments", comments, len(w.fake.ReviewComments(n)))
	}

	// A fork: the token cannot write; annotations and the job summary instead.
	w.fake.ForbidWrites(true)
	w.fake.Commit("feature", "more", fakegithub.File{Path: "api/Dockerfile", Content: "FROM nginx:1.27\n"})
	_ = os.MkdirAll(filepath.Join(w.workspace, "api"), 0o755)
	_ = os.WriteFile(filepath.Join(w.workspace, "api", "Dockerfile"), []byte("FROM nginx:1.27\n"), 0o644)
	w.env["GITHUB_EVENT_PATH"] = ""
	res = runAction(t, a, actionRun{inputs: map[string]string{"command": "comment", "args": fmt.Sprintf("--pr %d", n)}, workspace: w.workspace, env: w.env})
	if res.code != 1 || !strings.Contains(res.output, "::warning file=api/Dockerfile,line=1,") {
		t.Fatalf("exit %d\n%s", res.code, res.output)
	}
	summary, _ := os.ReadFile(w.env["GITHUB_STEP_SUMMARY"])
	if !strings.Contains(string(summary), "`api/Dockerfile:1`") {
		t.Errorf("job summary:\n%s", summary)
	}
}

func TestActionRejectsUnknownCommand(t *testing.T) {
	t.Parallel()
	needBash(t)
	a := readAction(t)
	w := newActionWorld(t, map[string]string{})
	res := runAction(t, a, actionRun{inputs: map[string]string{"command": "rm -rf /; fix"}, workspace: w.workspace, env: w.env})
	if res.code != 2 || res.outputs["exit-code"] != "2" || !strings.Contains(res.output, "::error title=digestbot::") {
		t.Errorf("exit %d outputs %v\n%s", res.code, res.outputs, res.output)
	}
}

// Every action the workflows use is pinned by commit SHA, and their
// permissions are the minimum each needs.
func TestWorkflowsPinActionsAndLimitPermissions(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(repoRoot(t), ".github", "workflows")
	want := map[string]map[string]string{
		"digestbot-pr.yml":      {"contents": "write", "pull-requests": "write"},
		"digestbot-comment.yml": {"contents": "read", "pull-requests": "write"},
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	usesRe := regexp.MustCompile(`(?m)^\s*(?:-\s+)?uses:\s*(\S+)`)
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			Permissions map[string]string `yaml:"permissions"`
		}
		if err := yaml.Unmarshal(b, &wf); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fmt.Sprint(wf.Permissions) != fmt.Sprint(want[name]) {
			t.Errorf("%s: permissions %v, want %v", name, wf.Permissions, want[name])
		}
		for _, m := range usesRe.FindAllStringSubmatch(string(b), -1) {
			u := m[1]
			if u == "./" {
				continue
			}
			if !regexp.MustCompile(`^[\w.-]+/[\w.-]+@[0-9a-f]{40}$`).MatchString(u) {
				t.Errorf("%s: %s is not pinned to a commit SHA", name, u)
			}
		}
	}
}

// The Action writes SARIF for code scanning (sarif-file), sets its version
// from the ref the workflow pinned, and gives the counts as outputs.
func TestActionCheckSARIF(t *testing.T) {
	t.Parallel()
	needBash(t)
	a := readAction(t)
	w := newActionWorld(t, map[string]string{"Dockerfile": "FROM nginx:1.27\n", "app/Dockerfile": "FROM nginx:1.27@PIN\n"})
	idx := w.reg.PushIndex(t, "library/nginx", "1.27")
	if err := os.WriteFile(filepath.Join(w.workspace, "app/Dockerfile"), []byte("FROM nginx:1.27@"+idx.Digest+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.env["GITHUB_ACTION_REF"] = "v1.4.2"
	res := runAction(t, a, actionRun{inputs: map[string]string{"command": "check", "sarif-file": "results/digestbot.sarif"}, workspace: w.workspace, env: w.env})
	if res.code != 1 {
		t.Fatalf("exit %d, want 1 (one ref needs action)\n%s", res.code, res.output)
	}
	b, err := os.ReadFile(filepath.Join(w.workspace, "results", "digestbot.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct{ Name, Version string }
			}
			Results []struct {
				RuleID string
			}
		}
	}
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatalf("sarif-file is not JSON: %v\n%s", err, b)
	}
	if len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Version != "v1.4.2" || len(log.Runs[0].Results) != 1 || log.Runs[0].Results[0].RuleID == "" {
		t.Errorf("SARIF = %+v", log.Runs)
	}
	for k, v := range map[string]string{"exit-code": "1", "findings": "2", "unpinned": "1", "ok": "1", "needs-action": "1", "errors": "0", "sarif-file": "results/digestbot.sarif"} {
		if res.outputs[k] != v {
			t.Errorf("output %s = %q, want %q (all: %v)", k, res.outputs[k], v, res.outputs)
		}
	}
}

// fail-on-findings takes the usual boolean spellings in any case; anything
// else is an error rather than a silent default. The step runs a stand-in
// binary that exits 1 (something needs action).
func TestActionFailOnFindingsSpellings(t *testing.T) {
	t.Parallel()
	needBash(t)
	a := readAction(t)
	for in, want := range map[string]int{
		"true": 1, "TRUE": 1, "yes": 1, "Yes": 1, "on": 1, "ON": 1, "1": 1,
		"false": 0, "False": 0, "no": 0, "NO": 0, "off": 0, "Off": 0, "0": 0,
		"maybe": 2, "": 2, "ture": 2,
	} {
		runner := t.TempDir()
		fake := filepath.Join(runner, "digestbot")
		if err := os.WriteFile(fake, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"RUNNER_TEMP": runner, "GITHUB_TOKEN": "t"}
		res := runAction(t, a, actionRun{inputs: map[string]string{"command": "check", "fail-on-findings": in}, workspace: t.TempDir(), env: env, only: "run"})
		if res.code != want {
			t.Errorf("fail-on-findings %q: step exit %d, want %d\n%s", in, res.code, want, res.output)
		}
		if want == 2 && !strings.Contains(res.output, "fail-on-findings is") {
			t.Errorf("fail-on-findings %q: no error naming the input:\n%s", in, res.output)
		}
	}
}
