package cli

import (
	"context"
	"time"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/diagnose"
	"github.com/digestbot/digestbot/pkg/pin"
	"github.com/digestbot/digestbot/pkg/report"
	"github.com/digestbot/digestbot/pkg/resolve"
)

// Pins that lie: the diagnoses of pins that differ from their tag, and the
// required-platforms check, both in pkg/diagnose.
func init() {
	newDiagnoser = func(res *resolve.Resolver, cfg *config.Config, lookup time.Duration) pin.Diagnoser {
		return diagnose.New(res, cfg, diagnose.WithRequestTimeout(lookup))
	}
	checkPlatforms = func(ctx context.Context, d pin.Diagnoser, cfg *config.Config, out *pin.Outcome) {
		dg, ok := d.(*diagnose.Diagnoser)
		if !ok {
			return
		}
		gaps, errs := dg.CheckPlatforms(ctx, out.Findings)
		out.Attention = append(out.Attention, gaps...)
		out.Problems = append(out.Problems, errs...)
	}
}

// needsAttention prints what needs action without being a finding's status
// (one line each on stderr) and turns a clean verdict into exit 1.
func needsAttention(env *Env, attention []report.Problem, err error) error {
	printProblems(env.Stderr, attention)
	if err == nil && len(attention) > 0 {
		return errFindings
	}
	return err
}
