package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/pkg/plan"
	"github.com/digestbot/digestbot/pkg/report"
)

// ScanOptions are scan's flags and arguments.
type ScanOptions struct {
	Env        *Env
	Paths      []string
	ConfigFile string
	Format     string
	Quiet      bool
}

func newScanCmd(env *Env, g *globalFlags, runF func(context.Context, *ScanOptions) error) *cobra.Command {
	opts := &ScanOptions{Env: env}
	cmd := &cobra.Command{
		Use:   "scan [PATH...]",
		Short: "List image references offline (no network)",
		Example: `  digestbot scan
  digestbot scan ./deploy --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths, opts.ConfigFile, opts.Quiet = defaultPaths(args), g.config, g.quiet
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return scanRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text or json")
	return cmd
}

func scanRun(ctx context.Context, opts *ScanOptions) error {
	env := opts.Env
	if err := checkFormat(opts.Format, "text", "json"); err != nil {
		return err
	}
	prog := newProgress(env)
	log, _ := logFuncs(env)
	out, err := plan.Scan(ctx, plan.Options{Paths: opts.Paths, ConfigFile: opts.ConfigFile, Progress: plan.Progress{Files: prog.files}, Log: log})
	prog.done()
	if err != nil {
		return runError(err)
	}
	if opts.Format == "json" {
		err = report.WriteJSON(env.Stdout, out.Findings, out.Problems)
	} else {
		err = report.WriteTextOpts(env.Stdout, out.Findings, textOptions(env, opts.Quiet))
	}
	if err != nil {
		return err
	}
	// Unreadable files and invalid references (status error) exit 2.
	if reportErrors(env, out.Findings, out.Problems) > 0 {
		return errReported
	}
	return nil
}
