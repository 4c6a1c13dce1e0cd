// Package depcheck holds the tests that enforce digestbot's package
// boundaries (in the manner of go-containerregistry's internal/depcheck):
// for each part, an allow-list of the project's own packages it may reach
// and a deny-list of what it must never reach, checked over the full
// dependency closure with `go list -deps`. The parts and their arrows:
//
//	rewriters (formats)   know no network, and of the project only imgref
//	scan                  is offline: no resolver, no registry client, no net
//	resolve, diagnose     know refs, not files: no rewriters, scan or plan
//	finding               is a leaf: it imports nothing of the project
//	report                renders findings: it knows nothing else
//	the core              (all of the above, plan, config) knows no command line
package depcheck
