package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Version is set at build time:
//
//	go build -ldflags "-X github.com/digestbot/digestbot/internal/cli.Version=v1.2.3" ./cmd/digestbot
//
// goreleaser sets it from the git tag, the Action from the ref it was
// pinned to (its source is a tarball with no .git, so Go records no VCS
// information). Empty means: ask the build info (go install …@v1.2.3 records
// the module version; go build in a clone records the commit).
var Version = ""

// version is the version string: -ldflags, else the module version Go
// recorded, else "devel".
func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// vcsInfo is the commit (12 hex digits, "+dirty" when modified) and its
// date as Go recorded them at build time (go build in a clone, with
// -buildvcs on); empty when unknown.
func vcsInfo() (rev, date string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", ""
	}
	dirty := ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			date, _, _ = strings.Cut(s.Value, "T")
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return "", ""
	}
	return rev[:min(12, len(rev))] + dirty, date
}

// versionLine is what `digestbot version` and `digestbot --version` print:
// the version, the commit when Go recorded one the version does not
// already name, the platform and the Go release.
func versionLine() string {
	v := "digestbot " + version()
	if rev, date := vcsInfo(); rev != "" && !strings.Contains(version(), strings.TrimSuffix(rev, "+dirty")) {
		v += " (commit " + rev
		if date != "" {
			v += ", " + date
		}
		v += ")"
	}
	return fmt.Sprintf("%s %s/%s %s\n", v, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func newVersionCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprint(env.Stdout, versionLine())
			return err
		},
	}
}
