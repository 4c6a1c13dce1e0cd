package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/pin"
	"github.com/digestbot/digestbot/pkg/resolve"
)

// resolveFlags are shared by every command that talks to registries.
type resolveFlags struct {
	concurrency int
	timeout     time.Duration
	lookup      time.Duration
	// platforms asks runPlan to check the config's required platforms
	// (check sets it).
	platforms bool
}

func addResolveFlags(cmd *cobra.Command) *resolveFlags {
	rf := &resolveFlags{}
	cmd.Flags().IntVar(&rf.concurrency, "concurrency", resolve.DefaultConcurrency, "registry lookups in flight at once")
	cmd.Flags().DurationVar(&rf.timeout, "timeout", resolve.DefaultRunTimeout, "deadline for the whole run's registry work")
	cmd.Flags().DurationVar(&rf.lookup, "lookup-timeout", resolve.DefaultLookupTimeout, "deadline for one tag lookup, retries included")
	return rf
}

// newDiagnoser, when set (by the diagnostics code), explains pins that
// differ from their tag; without it they are all stale.
var newDiagnoser func(res *resolve.Resolver, cfg *config.Config, lookup time.Duration) pin.Diagnoser

// checkPlatforms, when set (by the diagnostics code), checks that every
// resolved tag provides the config's required platforms, adding to out.
var checkPlatforms func(ctx context.Context, d pin.Diagnoser, cfg *config.Config, out *pin.Outcome)

// runPlan scans paths, resolves every unique tag once and decides a verdict
// per reference. It writes nothing.
func runPlan(ctx context.Context, env *Env, g *globalFlags, paths []string, rf *resolveFlags) (*pin.Outcome, *config.Config, error) {
	if rf.concurrency < 1 {
		return nil, nil, usageError("--concurrency must be at least 1")
	}
	if rf.timeout <= 0 || rf.lookup <= 0 {
		return nil, nil, usageError("--timeout and --lookup-timeout must be positive")
	}
	cfg, err := loadConfig(g, paths)
	if err != nil {
		return nil, nil, err
	}
	s, err := scanAll(ctx, env, paths, cfg)
	if err != nil {
		return nil, nil, err
	}
	opts := []resolve.Opt{
		resolve.WithConcurrency(rf.concurrency),
		resolve.WithLookupTimeout(rf.lookup),
		resolve.WithUserAgent("digestbot/" + version()),
	}
	// In GitHub Actions the workflow token reads ghcr.io packages the
	// repository can see; it is used only when Docker has no credential.
	if env.Getenv("GITHUB_ACTIONS") == "true" && env.Getenv("GITHUB_TOKEN") != "" {
		opts = append(opts, resolve.WithGitHubToken(env.Getenv("GITHUB_TOKEN")))
	}
	res, err := resolve.New(cfg, opts...)
	if err != nil {
		return nil, nil, &exitError{code: ExitError, msg: fmt.Sprintf("%v; check the registries section of %s", err, config.FileName)}
	}
	defer res.Close()
	runCtx, cancel := context.WithTimeout(ctx, rf.timeout)
	defer cancel()
	prog := newProgress(env)
	defer prog.done()
	po := pin.Options{Resolver: res, Progress: prog.refs}
	if newDiagnoser != nil {
		po.Diagnoser = newDiagnoser(res, cfg, rf.lookup)
	}
	out, err := pin.Run(runCtx, s.files(), po)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, &exitError{code: ExitError, msg: fmt.Sprintf("registry work did not finish within --timeout %s: %v", rf.timeout, err)}
	}
	if rf.platforms && checkPlatforms != nil && len(cfg.Platforms) > 0 {
		checkPlatforms(runCtx, po.Diagnoser, cfg, out)
	}
	out.Problems = append(s.problems, out.Problems...)
	return out, cfg, nil
}
