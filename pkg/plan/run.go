package plan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/diagnose"
	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/resolve"
	"github.com/digestbot/digestbot/pkg/scan"
	"github.com/digestbot/digestbot/pkg/verify"
)

// Progress receives progress reports; the zero value reports nothing. The
// functions must be safe for concurrent use.
type Progress struct {
	Files func(n int)           // candidate files read so far
	Refs  func(done, total int) // tags resolved so far
}

// Options configure a run. The zero value of each field means its default.
type Options struct {
	// Paths are the folders or files to scan; empty means ".".
	Paths []string
	// ConfigFile is the config to read; "" reads config.FileName at the
	// root of the first path when present.
	ConfigFile string
	// Concurrency bounds registry lookups in flight.
	Concurrency int
	// Timeout bounds the whole run's registry work, which starts with the
	// scan (tags are looked up as it finds them), so it counts the scan's
	// time too; LookupTimeout bounds one tag lookup, retries included.
	Timeout, LookupTimeout time.Duration
	// Platforms checks the config's required platforms (check).
	Platforms bool
	// GitHubToken authenticates ghcr.io when Docker has no credential (the
	// workflow token in GitHub Actions).
	GitHubToken string
	// UserAgent is sent to registries.
	UserAgent string
	// InRepo names files relative to the repository root (the nearest
	// folder holding .git, else Workspace when it holds the path), as the
	// GitHub API does; pr and comment set it.
	InRepo    bool
	Workspace string
	Progress  Progress
	// Log, when set, receives --verbose lines: the config loaded (or
	// none), each registry's host, TLS mode and credential source (never
	// the credential), the request counts.
	Log func(string)
	// RequestLog, when set, hears of every registry request (--debug):
	// method, URL path, status, time; never a header or a query.
	RequestLog func(resolve.RequestInfo)
	// TrustedRegistries, when not nil, replaces the registries section of
	// the config read from the checkout: comment runs on a pull request's
	// head, whose config is the pull request author's, so the registries
	// (hosts, TLS modes, and so where credentials go) come from the base
	// branch's config instead.
	TrustedRegistries *map[string]config.Registry
	// TrustedVerify, when not nil, replaces the verify rules of the config
	// read from the checkout, for the same reason: a pull request must not
	// choose the signature policy its own images are judged by.
	TrustedVerify *[]config.VerifyRule
}

func (o *Options) defaults() error {
	if len(o.Paths) == 0 {
		o.Paths = []string{"."}
	}
	if o.Concurrency == 0 {
		o.Concurrency = resolve.DefaultConcurrency
	}
	if o.Timeout == 0 {
		o.Timeout = resolve.DefaultRunTimeout
	}
	if o.LookupTimeout == 0 {
		o.LookupTimeout = resolve.DefaultLookupTimeout
	}
	if o.Concurrency < 1 {
		return errorf(ErrUsage, "--concurrency must be at least 1")
	}
	if o.Timeout < 0 || o.LookupTimeout < 0 {
		return errorf(ErrUsage, "--timeout and --lookup-timeout must be positive")
	}
	return nil
}

// LoadConfig reads file, or else the config that applies to the first
// path, found by walking up from it to the repository root
// (config.Discover). It also returns the root files are named relative to,
// so a file or subfolder PATH (pre-commit, editors) gets the same config,
// exclusions and paths as a run from the root ("" when the path does not
// exist: the scan reports that in its own words).
func LoadConfig(file string, paths []string) (*config.Config, string, error) {
	first := "."
	if len(paths) > 0 {
		first = paths[0]
	}
	found, root, err := config.Discover(first)
	if err != nil {
		if _, serr := os.Stat(first); serr != nil {
			found, root = "", ""
		} else if file == "" && errors.Is(err, config.ErrUntrusted) {
			return nil, "", errorf(ErrConfig, "%v", err) // it says what to pass
		} else if file == "" {
			return nil, "", errorf(ErrConfig, "%v; or pass one with --config", err)
		}
	}
	if file != "" {
		found = file
	}
	if found == "" {
		return config.Default(), root, nil
	}
	var c *config.Config
	if file != "" {
		c, err = config.Load(found) // the user's explicit choice, anywhere
	} else {
		// The repository's own config: a file inside the repository.
		c, err = config.LoadInRoot(filepath.Dir(found), filepath.Base(found))
	}
	if err != nil {
		return nil, "", errorf(ErrConfig, "%v; fix the file or pass another with --config", err)
	}
	return c, root, nil
}

// Scanned is every PATH of a run, scanned.
type Scanned struct {
	// Root is the folder every file is named relative to: the first
	// PATH's repository root (LoadConfig), shared by the other PATHs
	// inside it; "" when the PATHs have different roots (files then carry
	// their PATH's name).
	Root     string
	Roots    []*scan.Result
	Files    []*scan.File
	Problems []finding.Problem
	Config   *config.Config
}

// ScanPaths loads the config and scans every path. A path that cannot be
// scanned at all is a problem; the others go on.
func ScanPaths(ctx context.Context, opts Options) (*Scanned, error) {
	if len(opts.Paths) == 0 {
		opts.Paths = []string{"."}
	}
	cfg, root, err := scanConfig(opts)
	if err != nil {
		return nil, err
	}
	return scanPaths(ctx, opts, cfg, root, nil)
}

// scanConfig loads the config of a run and the root its files are named
// relative to ("" when the PATHs have different roots).
func scanConfig(opts Options) (*config.Config, string, error) {
	cfg, root, err := LoadConfig(opts.ConfigFile, opts.Paths)
	if err != nil {
		return nil, "", err
	}
	if opts.TrustedRegistries != nil {
		cfg.Registries = *opts.TrustedRegistries
	}
	if opts.TrustedVerify != nil {
		cfg.Verify = *opts.TrustedVerify
	}
	// pre-commit passes several files of one repository: they share the
	// root. A PATH elsewhere gives every PATH its own.
	shared := root != ""
	for _, p := range opts.Paths[1:] {
		if _, r, err := config.Discover(p); shared && err == nil && r != root {
			shared = false
		}
	}
	if !shared {
		root = ""
	}
	if opts.Log != nil {
		if cfg.Path != "" {
			opts.Log("config: " + cfg.Path)
		} else {
			opts.Log("config: none found (looked from " + opts.Paths[0] + " up to the repository root); defaults apply")
		}
		if root != "" {
			opts.Log("root: " + root + " (files are named relative to it)")
		}
	}
	return cfg, root, nil
}

// scanPaths scans every path with the config and root of scanConfig,
// calling onFile (when not nil) concurrently with each file holding
// references as soon as it is parsed (scan.Options.OnFile).
func scanPaths(ctx context.Context, opts Options, cfg *config.Config, root string, onFile func(*scan.File)) (*Scanned, error) {
	shared := root != ""
	s := &Scanned{Config: cfg, Root: root}
	seen := map[string]bool{}
	for _, p := range opts.Paths {
		res, err := scan.Scan(ctx, p, scan.Options{Config: cfg, Progress: opts.Progress.Files, Root: root, OnFile: onFile})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			s.Problems = append(s.Problems, finding.Problem{File: p, Message: err.Error()})
			continue
		}
		if shared {
			// A file named twice (a folder and a file in it) is scanned,
			// and fixed, once.
			kept := res.Files[:0]
			for _, f := range res.Files {
				if !seen[f.Path] {
					seen[f.Path] = true
					kept = append(kept, f)
				}
			}
			res.Files = kept
		} else if len(opts.Paths) > 1 {
			// Several roots: name files by root so they stay distinct.
			for _, f := range res.Files {
				f.Path = scan.Display(res.Root, f.Path)
			}
			for i := range res.Problems {
				res.Problems[i].File = scan.Display(res.Root, res.Problems[i].File)
			}
		}
		s.Roots = append(s.Roots, res)
		s.Files = append(s.Files, res.Files...)
		s.Problems = append(s.Problems, res.Problems...)
	}
	return s, nil
}

// Scan is the offline run (digestbot scan): every reference with the
// statuses known without a registry.
func Scan(ctx context.Context, opts Options) (*Outcome, error) {
	s, err := ScanPaths(ctx, opts)
	if err != nil {
		return nil, err
	}
	fs := Offline(s.Files, s.Config)
	finding.MarkActions(fs)
	return &Outcome{Findings: fs, Problems: s.Problems, Config: s.Config, Root: s.Root}, nil
}

// Run is the whole run for check, fix, pr and comment: scan, resolve each
// unique tag once, diagnose pins that differ, decide every status, compute
// the edits (check the required platforms when asked). It writes nothing.
//
// Tags are resolved while the scan goes on: each file's references are
// parsed (once) as soon as the scan has read the file, and their tags go
// to the resolver at once, so the run takes about as long as the longer
// of the scan and the lookups, not their sum. Diagnoses need the lookups'
// results and run after them.
func Run(ctx context.Context, opts Options) (*Outcome, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if opts.InRepo {
		if _, err := RepoPrefix(opts.Paths[0], opts.Workspace); err != nil {
			return nil, err
		}
	}
	cfg, root, err := scanConfig(opts)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if opts.InRepo {
		// Files are named relative to the scan's root (the config's
		// folder or the repository root), else to the PATH.
		r := opts.Paths[0]
		if root != "" {
			r = root
		}
		p, err := RepoPrefix(r, opts.Workspace)
		if err != nil {
			return nil, err
		}
		prefix = p
	}
	ropts := []resolve.Opt{
		resolve.WithConcurrency(opts.Concurrency),
		resolve.WithLookupTimeout(opts.LookupTimeout),
	}
	if opts.UserAgent != "" {
		ropts = append(ropts, resolve.WithUserAgent(opts.UserAgent))
	}
	if opts.GitHubToken != "" {
		ropts = append(ropts, resolve.WithGitHubToken(opts.GitHubToken))
	}
	if opts.RequestLog != nil {
		ropts = append(ropts, resolve.WithRequestLog(opts.RequestLog))
	}
	res, err := resolve.New(cfg, ropts...)
	if err != nil {
		return nil, errorf(ErrConfig, "%v; check the registries section of %s", err, config.FileName)
	}
	defer res.Close()
	runCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	f := &feed{cfg: cfg, batch: res.Start(runCtx, opts.Progress.Refs), items: map[*scan.File][]*item{}}
	s, err := scanPaths(ctx, opts, cfg, root, f.file)
	if err != nil {
		// Lookups already started end with the run.
		cancel()
		f.batch.Wait()
		return nil, err
	}
	all := make([][]*item, len(s.Files))
	for i, sf := range s.Files {
		all[i] = f.itemsOf(sf)
	}
	results := f.batch.Wait()

	dg := diagnose.New(res, cfg, diagnose.WithRequestTimeout(opts.LookupTimeout))
	dopts := DecideOptions{Resolver: res, Diagnoser: dg, Config: cfg, Progress: opts.Progress.Refs}
	if len(cfg.Verify) > 0 {
		vopts := []verify.Opt{verify.WithRequestTimeout(opts.LookupTimeout)}
		if opts.UserAgent != "" {
			vopts = append(vopts, verify.WithUserAgent(opts.UserAgent))
		}
		vf, err := verify.New(res.Client(), cfg, vopts...)
		if err != nil {
			return nil, errorf(ErrConfig, "%v", err)
		}
		dopts.Verifier = vf
	}
	out, err := decide(runCtx, s.Files, all, results, dopts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errorf(ErrTimeout, "registry work did not finish within --timeout %s: %v", opts.Timeout, err)
	}
	if opts.Log != nil {
		logRegistries(opts.Log, res, cfg, out.Findings)
	}
	if opts.Platforms && len(cfg.Platforms) > 0 {
		gaps, errs := dg.CheckPlatforms(runCtx, out.Findings)
		out.Attention = append(out.Attention, gaps...)
		out.Problems = append(out.Problems, errs...)
	}
	out.Problems = append(s.Problems, out.Problems...)
	if errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		out.Problems = append(out.Problems, finding.Problem{File: "--timeout", Message: fmt.Sprintf(
			"the registry work did not finish within %s; what was resolved is reported, the rest as error (timed out); allow more time with --timeout", opts.Timeout)})
	}
	if opts.Log != nil {
		st := res.Stats()
		opts.Log(fmt.Sprintf("requests: %d (%d lookups, %d manifest GETs, %d retries, %d refs short-circuited by a failed host)",
			st.Requests, st.Lookups, st.ManifestGets, st.Retries, st.ShortCircuited))
	}
	out.Root = s.Root
	finding.MarkActions(out.Findings)
	out.inRepo(prefix)
	return out, nil
}

// logRegistries says, per registry the findings name, where its requests
// go, over what, and which credential source serves it (never the
// credential itself).
func logRegistries(log func(string), res *resolve.Resolver, cfg *config.Config, fs []finding.Finding) {
	seen := map[string]bool{}
	var regs []string
	for _, f := range fs {
		if f.Image == nil {
			continue
		}
		reg, _, _ := strings.Cut(*f.Image, "/")
		if !seen[reg] {
			seen[reg] = true
			regs = append(regs, reg)
		}
	}
	sort.Strings(regs)
	for _, reg := range regs {
		host := res.HostFor(reg)
		via := host
		if res.Mapped(reg) {
			via += " (registries." + reg + ".host)"
		}
		tls := config.TLSEnabled
		if rc, ok := cfg.Registries[reg]; ok && rc.TLS != "" {
			tls = rc.TLS
		}
		log(fmt.Sprintf("registry %s: host %s, tls %s, credential: %s", reg, via, tls, res.CredentialSource(reg)))
	}
}

// feed parses the references of each file the scan yields, once, and
// hands their tags to the resolver while the scan goes on.
type feed struct {
	cfg   *config.Config
	batch *resolve.Batch
	mu    sync.Mutex
	items map[*scan.File][]*item
}

// file is the scan's OnFile: called concurrently, as files are parsed.
func (f *feed) file(sf *scan.File) {
	its := fileItems(sf, f.cfg)
	var keys []resolve.Key
	for _, it := range its {
		if it.resolvable() {
			keys = append(keys, resolve.KeyOf(it.p))
		}
	}
	f.mu.Lock()
	f.items[sf] = its
	f.mu.Unlock()
	if len(keys) > 0 {
		f.batch.Add(keys...)
	}
}

// itemsOf returns a scanned file's items, parsing it now (and adding its
// tags) if the scan did not hand it over while scanning.
func (f *feed) itemsOf(sf *scan.File) []*item {
	f.mu.Lock()
	its, ok := f.items[sf]
	f.mu.Unlock()
	if !ok {
		f.file(sf)
		f.mu.Lock()
		its = f.items[sf]
		f.mu.Unlock()
	}
	return its
}
