package cli

import (
	"github.com/spf13/cobra"

	"github.com/digestbot/digestbot/pkg/report"
)

func newScanCmd(env *Env, g *globalFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "scan [PATH...]",
		Short: "List image references offline (no network)",
		Example: `  digestbot scan
  digestbot scan ./deploy --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			paths := defaultPaths(args)
			cfg, err := loadConfig(g, paths)
			if err != nil {
				return err
			}
			s, err := scanAll(cmd.Context(), env, paths, cfg)
			if err != nil {
				return err
			}
			var findings []report.Finding
			for _, f := range s.files() {
				for _, r := range f.Refs {
					findings = append(findings, r.Finding(f))
				}
			}
			report.Sort(findings)
			if format == "json" {
				err = report.WriteJSON(env.Stdout, findings, s.problems)
			} else {
				err = report.WriteText(env.Stdout, findings)
			}
			if err != nil {
				return err
			}
			printProblems(env.Stderr, s.problems)
			if len(s.problems) > 0 {
				return errReported
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
