package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/pkg/plan"
	"github.com/digestbot/digestbot/pkg/resolve"
)

// ResolveOptions are the flags of every command that talks to registries.
type ResolveOptions struct {
	Concurrency   int
	Timeout       time.Duration
	LookupTimeout time.Duration
}

func addResolveFlags(cmd *cobra.Command, ro *ResolveOptions) {
	cmd.Flags().IntVar(&ro.Concurrency, "concurrency", resolve.DefaultConcurrency, "registry lookups in flight at once")
	cmd.Flags().DurationVar(&ro.Timeout, "timeout", resolve.DefaultRunTimeout, "deadline for the whole run's registry work")
	cmd.Flags().DurationVar(&ro.LookupTimeout, "lookup-timeout", resolve.DefaultLookupTimeout, "deadline for one tag lookup, retries included")
}

// planOptions validates the flags and builds the plan's options.
func planOptions(env *Env, paths []string, configFile string, ro ResolveOptions, prog *progress) (plan.Options, error) {
	if ro.Concurrency < 1 {
		return plan.Options{}, usageError("--concurrency must be at least 1")
	}
	if ro.Timeout <= 0 || ro.LookupTimeout <= 0 {
		return plan.Options{}, usageError("--timeout and --lookup-timeout must be positive")
	}
	o := plan.Options{
		Paths: paths, ConfigFile: configFile,
		Concurrency: ro.Concurrency, Timeout: ro.Timeout, LookupTimeout: ro.LookupTimeout,
		UserAgent: "digestbot/" + version(),
		Progress:  plan.Progress{Files: prog.files, Refs: prog.refs},
	}
	o.Log, o.RequestLog = logFuncs(env)
	// In GitHub Actions the workflow token reads ghcr.io packages the
	// repository can see; it is used only when Docker has no credential.
	if env.Getenv("GITHUB_ACTIONS") == "true" && env.Getenv("GITHUB_TOKEN") != "" {
		o.GitHubToken = env.Getenv("GITHUB_TOKEN")
	}
	return o, nil
}
