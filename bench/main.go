//go:build unix

// Command bench measures digestbot end to end on a synthetic monorepo.
//
// It generates a deterministic tree (-files files, of which -imagefiles hold
// image references spread over -tags unique tags; the rest is Go, TypeScript,
// Markdown, JSON, shell and plain-YAML noise of a few KiB), starts a
// registry (go-containerregistry's in-process one, or the real registry at
// $DIGESTBOT_E2E_REGISTRY) behind a proxy that counts manifest HEADs and
// GETs and can add -latency to every request, seeds one index per tag,
// builds digestbot once, and runs `digestbot scan`, `check` and `fix` on
// the tree as subprocesses, next to `rg -l -e '^FROM' -e 'image:'` over
// the same tree. It prints the median of -runs runs of each:
//
//	go run ./bench -files 100000 -imagefiles 5000 -tags 500
//	go run ./bench -files 100000 -imagefiles 5000 -tags 500 -latency 20ms
//
// Peak RSS is the child's (getrusage Maxrss). "resolve" is how long the
// registry was busy with manifest requests (first request in to last
// answer out), to compare with tags × latency ÷ concurrency.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Options configure one benchmark run.
type Options struct {
	Shape       Shape
	Latency     time.Duration
	Concurrency int
	Runs        int
	Registry    string // real registry host:port, "" for in-process
	RegistryPID int    // the real registry's process, for its CPU time; 0: not counted
	Bin         string // digestbot binary; built when empty
	Dir         string // where the tree goes; a temp dir when empty
	Keep        bool   // keep the tree
	Commands    []string
	Log         io.Writer
}

// Measure is one command's median figures.
type Measure struct {
	Command  string        `json:"command"`
	Wall     time.Duration `json:"wall_ns"`
	CPU      time.Duration `json:"cpu_ns"` // user + system
	RSSKiB   int64         `json:"peak_rss_kib"`
	Heads    int64         `json:"heads"`
	Gets     int64         `json:"gets"`
	Requests int64         `json:"requests"`
	MaxIn    int64         `json:"max_in_flight"`
	Resolve  time.Duration `json:"resolve_ns"`
	// ServerCPU is the CPU time the registry side spent during the run:
	// the bench process (proxy, in-process registry) plus the real
	// registry's process when -registry-pid names it (serverCPU).
	ServerCPU time.Duration `json:"server_cpu_ns"`
	// RegistryCPU is the real registry process's part of ServerCPU.
	RegistryCPU time.Duration `json:"registry_cpu_ns"`
	// FirstHead is how far into the run the first manifest request
	// reached the registry: before the scan's own time means the lookups
	// overlapped the scan.
	FirstHead time.Duration   `json:"first_head_ns"`
	Exit      int             `json:"exit"`
	Walls     []time.Duration `json:"walls_ns"`
}

// Result is a whole benchmark.
type Result struct {
	Files, ImageFiles, Tags int
	UsedTags, Refs          int
	Candidates              int
	Bytes                   int64
	Latency                 time.Duration
	Concurrency             int
	Runs                    int
	Backend                 string
	PerFolder, YAMLPermil   int
	Rg                      *Measure `json:",omitempty"`
	// WalkFloor and HeadFloor are the floors (floors.go): a parallel walk
	// reading every candidate, and a bare concurrent HEAD loop.
	WalkFloor  *Measure `json:",omitempty"`
	ParseFloor *Measure `json:",omitempty"`
	HeadFloor  *Measure `json:",omitempty"`
	// Cores is runtime.NumCPU(): the CPU floor is CPU time ÷ Cores.
	Cores int
	// RegistryCPU says whether ServerCPU includes the real registry's
	// process (-registry-pid).
	RegistryCPU bool
	Cmds        []*Measure
}

func main() {
	maybeLaunch()
	o := Options{Log: os.Stderr}
	var cmds string
	var jsonOut string
	flag.IntVar(&o.Shape.Files, "files", 10000, "total files in the tree")
	flag.IntVar(&o.Shape.ImageFiles, "imagefiles", 500, "files holding image references")
	flag.IntVar(&o.Shape.Tags, "tags", 50, "unique tags the references spread over")
	flag.IntVar(&o.Shape.Repos, "repos", 8, "repositories the tags spread over (at most 8)")
	flag.Uint64Var(&o.Shape.Seed, "seed", 1, "generator seed")
	flag.IntVar(&o.Shape.PerFolder, "perfolder", 25, "files per folder (1–2 gives a directory-heavy tree)")
	flag.IntVar(&o.Shape.YAMLPermil, "yamlpermil", 20, "plain YAML files, per mille of the non-image files")
	flag.IntVar(&o.RegistryPID, "registry-pid", 0, "process id of the real registry at $DIGESTBOT_E2E_REGISTRY, to count its CPU time (Linux /proc)")
	flag.DurationVar(&o.Latency, "latency", 0, "latency added to every registry request")
	flag.IntVar(&o.Concurrency, "concurrency", 16, "digestbot --concurrency")
	flag.IntVar(&o.Runs, "runs", 3, "runs of each command; medians are reported")
	flag.StringVar(&o.Bin, "bin", "", "digestbot binary (default: go build ./cmd/digestbot)")
	flag.StringVar(&o.Dir, "dir", "", "folder for the tree (default: a temp folder)")
	flag.BoolVar(&o.Keep, "keep", false, "keep the generated tree")
	flag.StringVar(&cmds, "commands", "scan,check,fix", "digestbot commands to time")
	flag.StringVar(&jsonOut, "json", "", "also write the result as JSON to this file")
	flag.Parse()
	if o.RegistryPID != 0 && os.Getenv("DIGESTBOT_E2E_REGISTRY") == "" {
		fmt.Fprintln(os.Stderr, "bench: -registry-pid names the real registry's process: set DIGESTBOT_E2E_REGISTRY=host:port to that registry too (without it the in-process registry is used)")
		os.Exit(2)
	}
	o.Registry = os.Getenv("DIGESTBOT_E2E_REGISTRY")
	o.Commands = strings.Split(cmds, ",")
	res, err := Run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	res.Print(os.Stdout)
	if jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "bench: "+format+"\n", args...)
	}
}

// Run generates the tree, seeds the registry and times every command.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Runs < 1 {
		o.Runs = 1
	}
	if o.Concurrency < 1 {
		o.Concurrency = 16
	}
	// A wrong -registry-pid is reported now, not after the tree is built.
	if _, _, err := serverCPU(o.regPID()); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(o.Dir, "digestbot-bench-")
	if err != nil {
		return nil, err
	}
	if !o.Keep {
		defer os.RemoveAll(work)
	}
	bin := o.Bin
	if bin == "" {
		bin = filepath.Join(work, "digestbot")
		o.logf("building digestbot")
		if err := build(bin); err != nil {
			return nil, err
		}
	}
	root := filepath.Join(work, "repo")
	t0 := time.Now()
	tree, err := Generate(root, o.Shape)
	if err != nil {
		return nil, err
	}
	// Flush the new tree to disk so background writeback does not slow
	// down the timed commands.
	syscall.Sync()
	o.logf("generated %d files (%d MiB, %d image files, %d refs over %d tags) in %s",
		o.Shape.Files, tree.Bytes>>20, o.Shape.ImageFiles, tree.Refs, len(tree.UsedTags), time.Since(t0).Round(time.Millisecond))

	reg, err := StartRegistry(o.Registry, o.Latency)
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	t0 = time.Now()
	if _, err := reg.Seed(ctx, o.Shape); err != nil {
		return nil, err
	}
	o.logf("seeded %d tags in %s", o.Shape.Tags, time.Since(t0).Round(time.Millisecond))
	cfg := filepath.Join(root, ".digestbot.yaml")
	if err := os.WriteFile(cfg, []byte(benchConfig(reg.Host())), 0o644); err != nil {
		return nil, err
	}

	res := &Result{
		Files: o.Shape.Files, ImageFiles: o.Shape.ImageFiles, Tags: o.Shape.Tags,
		UsedTags: len(tree.UsedTags), Refs: tree.Refs, Candidates: tree.Candidate, Bytes: tree.Bytes,
		Latency: o.Latency, Concurrency: o.Concurrency, Runs: o.Runs, Backend: "in-process (go-containerregistry)",
		PerFolder: o.Shape.perFolder(), YAMLPermil: cmp.Or(o.Shape.YAMLPermil, 20),
		Cores: runtime.NumCPU(), RegistryCPU: o.Registry != "" && o.RegistryPID > 0,
	}
	parse := ParseImageFiles(tree.ImagePaths())
	var headTags [][2]string
	for i := range tree.UsedTags {
		tr := o.Shape.tag(i)
		headTags = append(headTags, [2]string{tr.repo.path, tr.tag})
	}
	sort.Slice(headTags, func(i, j int) bool {
		return headTags[i] != headTags[j] && (headTags[i][0] < headTags[j][0] || headTags[i][0] == headTags[j][0] && headTags[i][1] < headTags[j][1])
	})
	if o.Registry != "" {
		res.Backend = "distribution " + o.Registry
	}
	rg, _ := exec.LookPath("rg")
	// Warm the page cache so every timed command sees the same state.
	if rg != "" {
		_, _ = runOne(ctx, rg, []string{"-l", "-e", "^FROM", "-e", "image:", root}, nil, 0)
	}
	_, _ = runOne(ctx, bin, []string{"scan", root}, nil, 0)

	samples := map[string][]*Measure{}
	for run := 0; run < o.Runs; run++ {
		for _, fl := range []struct {
			name  string
			parse func(string, []byte) error
		}{{"walk-floor", nil}, {"parse-floor", parse}} {
			// The floor is the faster of one walker per core and the
			// eight per core digestbot uses (goroutines blocked in the
			// kernel leave cores idle): the best the machine allows.
			var best *Measure
			for _, workers := range []int{runtime.GOMAXPROCS(0), 8 * runtime.GOMAXPROCS(0)} {
				var wall time.Duration
				var n int
				cpu, _, err := serverCPUDuring(0, func() (err error) {
					wall, n, err = WalkFloor(root, workers, fl.parse)
					return err
				})
				if err != nil {
					return nil, fmt.Errorf("%s: %w", fl.name, err)
				}
				// The generated candidates, plus the .digestbot.yaml written above.
				if n != tree.Candidate+1 {
					return nil, fmt.Errorf("%s read %d candidates, the generator wrote %d", fl.name, n, tree.Candidate+1)
				}
				if best == nil || wall < best.Wall {
					best = &Measure{Command: fl.name, Wall: wall, CPU: cpu, Walls: []time.Duration{wall}}
				}
			}
			samples[fl.name] = append(samples[fl.name], best)
		}
		reg.Reset()
		var wall time.Duration
		cpu, rcpu, err := serverCPUDuring(o.regPID(), func() (err error) {
			wall, err = HeadFloor(ctx, reg.Host(), headTags, o.Concurrency)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("HEAD loop: %w", err)
		}
		c := reg.Counts()
		samples["head-loop"] = append(samples["head-loop"], &Measure{Command: "head-loop", Wall: wall, Walls: []time.Duration{wall}, Heads: c.Heads, Requests: c.Total, MaxIn: c.MaxInFlight, Resolve: c.Span, CPU: cpu, ServerCPU: cpu, RegistryCPU: rcpu})
		if rg != "" {
			m, err := runOne(ctx, rg, []string{"-l", "-e", "^FROM", "-e", "image:", root}, nil, 0)
			if err != nil {
				return nil, err
			}
			m.Command = "rg"
			samples["rg"] = append(samples["rg"], m)
		}
		// Every run starts from the unpinned tree (the last fix pinned it).
		if err := tree.Restore(); err != nil {
			return nil, err
		}
		syscall.Sync()
		for _, c := range o.Commands {
			args := []string{c, "--concurrency", fmt.Sprint(o.Concurrency), root}
			if c == "scan" {
				args = []string{c, root}
			}
			m, err := runOne(ctx, bin, args, reg, o.regPID())
			if err != nil {
				return nil, err
			}
			m.Command = c
			want := map[string]int{"scan": 0, "check": 1, "fix": 0}[c]
			if m.Exit != want {
				return nil, fmt.Errorf("digestbot %s: exit %d, want %d", c, m.Exit, want)
			}
			samples[c] = append(samples[c], m)
			o.logf("run %d: %s %s (heads %d, gets %d, rss %d MiB)", run+1, c, m.Wall.Round(time.Millisecond), m.Heads, m.Gets, m.RSSKiB>>10)
		}
	}
	if len(samples["rg"]) > 0 {
		res.Rg = median(samples["rg"])
	}
	res.WalkFloor = median(samples["walk-floor"])
	res.ParseFloor = median(samples["parse-floor"])
	res.HeadFloor = median(samples["head-loop"])
	for _, c := range o.Commands {
		res.Cmds = append(res.Cmds, median(samples[c]))
	}
	// After fix, a check finds every reference pinned and current.
	if contains(o.Commands, "fix") {
		m, err := runOne(ctx, bin, []string{"check", root}, reg, o.regPID())
		if err != nil {
			return nil, err
		}
		if m.Exit != 0 {
			return nil, fmt.Errorf("check after fix: exit %d, want 0 (everything pinned)", m.Exit)
		}
	}
	return res, nil
}

// regPID is the real registry's process id, or 0.
func (o Options) regPID() int {
	if o.Registry == "" {
		return 0
	}
	return o.RegistryPID
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// build compiles digestbot from the module this driver belongs to.
func build(out string) error {
	_, file, _, _ := runtime.Caller(0)
	modRoot := filepath.Dir(filepath.Dir(file))
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./cmd/digestbot")
	cmd.Dir = modRoot
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/digestbot: %w", err)
	}
	return nil
}

// runOne runs a command as a subprocess (through the launcher, see
// launch.go) and measures it. A non-zero exit is recorded, not an error;
// exit 2 (digestbot's "error") is an error.
func runOne(ctx context.Context, bin string, args []string, reg *Registry, regPID int) (*Measure, error) {
	if reg != nil {
		reg.Reset()
	}
	var res *launched
	var stderr string
	cpu, rcpu, err := serverCPUDuring(regPID, func() (err error) {
		res, stderr, err = launch(ctx, append([]string{bin}, args...))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
	}
	m := &Measure{Wall: res.Wall, CPU: res.CPU, RSSKiB: res.MaxRSSKiB, Exit: res.Exit, Walls: []time.Duration{res.Wall}, ServerCPU: cpu, RegistryCPU: rcpu}
	if m.Exit == 2 {
		return nil, fmt.Errorf("%s %s: exit 2:\n%s", filepath.Base(bin), strings.Join(args, " "), tail(stderr, 2000))
	}
	if reg != nil {
		c := reg.Counts()
		m.Heads, m.Gets, m.Requests, m.MaxIn, m.Resolve = c.Heads, c.Gets, c.Total, c.MaxInFlight, c.Span
		if !c.First.IsZero() && !res.Start.IsZero() {
			m.FirstHead = max(c.First.Sub(res.Start), 0)
		}
	}
	return m, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// median takes each figure's median over the runs (they may come from
// different runs).
func median(ms []*Measure) *Measure {
	pick := func(f func(*Measure) int64) int64 {
		v := make([]int64, len(ms))
		for i, m := range ms {
			v[i] = f(m)
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[len(v)/2]
	}
	out := &Measure{Command: ms[0].Command, Exit: ms[0].Exit}
	out.Wall = time.Duration(pick(func(m *Measure) int64 { return int64(m.Wall) }))
	out.CPU = time.Duration(pick(func(m *Measure) int64 { return int64(m.CPU) }))
	out.RSSKiB = pick(func(m *Measure) int64 { return m.RSSKiB })
	out.Heads = pick(func(m *Measure) int64 { return m.Heads })
	out.Gets = pick(func(m *Measure) int64 { return m.Gets })
	out.Requests = pick(func(m *Measure) int64 { return m.Requests })
	out.MaxIn = pick(func(m *Measure) int64 { return m.MaxIn })
	out.Resolve = time.Duration(pick(func(m *Measure) int64 { return int64(m.Resolve) }))
	out.FirstHead = time.Duration(pick(func(m *Measure) int64 { return int64(m.FirstHead) }))
	out.ServerCPU = time.Duration(pick(func(m *Measure) int64 { return int64(m.ServerCPU) }))
	out.RegistryCPU = time.Duration(pick(func(m *Measure) int64 { return int64(m.RegistryCPU) }))
	for _, m := range ms {
		out.Walls = append(out.Walls, m.Wall)
	}
	return out
}

// Print writes the result as a table.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "tree: %d files (%d MiB), %d image files, %d refs, %d unique tags referenced (of %d), %d files digestbot reads\n",
		r.Files, r.Bytes>>20, r.ImageFiles, r.Refs, r.UsedTags, r.Tags, r.Candidates)
	fmt.Fprintf(w, "shape: %d files per folder, plain YAML %d‰ of the other files\n", r.PerFolder, r.YAMLPermil)
	fmt.Fprintf(w, "registry: %s, latency %s; digestbot --concurrency %d; median of %d runs\n", r.Backend, r.Latency, r.Concurrency, r.Runs)
	fmt.Fprintf(w, "%-10s %9s %9s %11s %10s %7s %5s %8s %9s %9s\n", "cmd", "wall", "cpu", "files/s", "refs/s", "HEADs", "GETs", "RSS MiB", "resolve", "vs rg")
	row := func(m *Measure) {
		ratio := ""
		if r.Rg != nil && r.Rg.Wall > 0 {
			ratio = fmt.Sprintf("%.2f×", float64(m.Wall)/float64(r.Rg.Wall))
		}
		refs := fmt.Sprintf("%.0f", float64(r.Refs)/m.Wall.Seconds())
		heads, gets, resolve := fmt.Sprint(m.Heads), fmt.Sprint(m.Gets), m.Resolve.Round(time.Millisecond).String()
		switch m.Command {
		case "rg", "scan", "walk-floor", "parse-floor":
			heads, gets, resolve = "-", "-", "-"
			if m.Command != "scan" {
				refs = "-"
			}
		case "head-loop":
			refs, gets = "-", "-"
		}
		fmt.Fprintf(w, "%-10s %9s %9s %11.0f %10s %7s %5s %8.1f %9s %9s\n", m.Command,
			m.Wall.Round(time.Millisecond), m.CPU.Round(time.Millisecond), float64(r.Files)/m.Wall.Seconds(),
			refs, heads, gets, float64(m.RSSKiB)/1024, resolve, ratio)
	}
	for _, m := range []*Measure{r.WalkFloor, r.ParseFloor, r.HeadFloor, r.Rg} {
		if m != nil {
			row(m)
		}
	}
	for _, m := range r.Cmds {
		row(m)
	}
	r.printRatios(w)
	if r.Latency > 0 {
		conc := r.Concurrency
		waves := (r.UsedTags + conc - 1) / conc
		fmt.Fprintf(w, "expected resolve with latency: %d tags × %s ÷ %d = %s (%d waves)\n",
			r.UsedTags, r.Latency, conc, (time.Duration(r.UsedTags) * r.Latency / time.Duration(conc)).Round(time.Millisecond), waves)
	}
}

// printRatios prints the targets' ratios: scan against the walk floor,
// check against rg, against max(scan, HEAD loop) and against its CPU floor.
func (r *Result) printRatios(w io.Writer) {
	cmd := map[string]*Measure{}
	for _, m := range r.Cmds {
		cmd[m.Command] = m
	}
	ratio := func(a, b time.Duration) string {
		if b <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f×", float64(a)/float64(b))
	}
	scan, check := cmd["scan"], cmd["check"]
	if scan != nil && r.WalkFloor != nil {
		fmt.Fprintf(w, "scan / walk floor: %s\n", ratio(scan.Wall, r.WalkFloor.Wall))
	}
	if scan != nil && r.ParseFloor != nil {
		fmt.Fprintf(w, "scan / parse floor: %s\n", ratio(scan.Wall, r.ParseFloor.Wall))
	}
	if check != nil && r.Rg != nil {
		fmt.Fprintf(w, "check / rg -l: %s\n", ratio(check.Wall, r.Rg.Wall))
	}
	if check != nil && scan != nil && r.HeadFloor != nil {
		fmt.Fprintf(w, "check / max(scan, HEAD loop): %s\n", ratio(check.Wall, max(scan.Wall, r.HeadFloor.Wall)))
	}
	if h := r.HeadFloor; h != nil && r.RegistryCPU {
		fmt.Fprintf(w, "HEAD loop CPU: registry %s + bench (loop and proxy) %s\n",
			h.RegistryCPU.Round(time.Millisecond), (h.ServerCPU - h.RegistryCPU).Round(time.Millisecond))
	}
	if check != nil && r.Cores > 0 {
		// Where the registry shares the machine's cores, check cannot
		// take less than all the CPU time spent for it spread over them.
		var side string
		switch {
		case r.Backend == "in-process (go-containerregistry)":
			side = fmt.Sprintf("bench process with the in-process registry %s", check.ServerCPU.Round(time.Millisecond))
		case r.RegistryCPU:
			side = fmt.Sprintf("registry %s + bench proxy %s", check.RegistryCPU.Round(time.Millisecond), (check.ServerCPU - check.RegistryCPU).Round(time.Millisecond))
		default:
			side = fmt.Sprintf("bench proxy %s; the registry's CPU is not counted: pass -registry-pid", check.ServerCPU.Round(time.Millisecond))
		}
		floor := (check.CPU + check.ServerCPU) / time.Duration(r.Cores)
		fmt.Fprintf(w, "check CPU floor: (digestbot %s + %s) ÷ %d cores = %s; check / CPU floor: %s\n",
			check.CPU.Round(time.Millisecond), side, r.Cores, floor.Round(time.Millisecond), ratio(check.Wall, floor))
	}
	if check != nil && scan != nil && check.Heads > 0 {
		// Resolution overlaps the scan when the first HEAD reaches the
		// registry well before a scan alone would have ended.
		fmt.Fprintf(w, "overlap: check's first HEAD at %s, last answer at %s into the run; scan alone takes %s\n",
			check.FirstHead.Round(time.Millisecond), (check.FirstHead + check.Resolve).Round(time.Millisecond), scan.Wall.Round(time.Millisecond))
	}
}
