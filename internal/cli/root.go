// Package cli holds digestbot's commands, one file each. It is separate from
// cmd/digestbot so tests (and the Action test) can run the whole CLI
// in-process with their own environment and streams.
//
// Each command is flag parsing into an options struct plus one run
// function (newXCmd(env, g, runF) and xRun(ctx, opts), the shape of gh's
// commands): the work itself is package plan's, so a command is
// unit-testable by passing its own runF.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/digestbot/digestbot/internal/safetext"
	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/finding"
)

// Exit codes, per the contract.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitError    = 2
)

// Env is the world a command runs in.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads environment variables (GITHUB_TOKEN, …).
	Getenv func(string) string
	// StderrIsTerminal turns on progress output.
	StderrIsTerminal bool
	// StdoutIsTerminal turns on colour (unless NO_COLOR is set).
	StdoutIsTerminal bool

	// verbose and debug are the -v and --debug flags, set before a
	// command runs (every command's plan options read them).
	verbose, debug bool
}

// OSEnv is the process's own environment.
func OSEnv() Env {
	return Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		StderrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		StdoutIsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
	}
}

// exitError carries an exit code. Its message, when not empty, has not been
// printed yet.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// errFindings makes check exit 1 with nothing more to say.
var errFindings = &exitError{code: ExitFindings}

// errReported makes a command exit 2 after it printed its own errors.
var errReported = &exitError{code: ExitError}

// Main runs the CLI and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	root := newRoot(&env)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(env.Stderr, "digestbot: "+safeMsg(ee.msg))
		}
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(env.Stderr, "digestbot: interrupted; files already written are complete, the rest are untouched")
		return ExitError
	}
	fmt.Fprintln(env.Stderr, "digestbot: "+safeMsg(err.Error()))
	return ExitError
}

type globalFlags struct {
	config string
	// quiet lists only findings that need action (and the summary).
	quiet bool
	// verbose and debug (which implies verbose) log to stderr.
	verbose, debug bool
}

func newRoot(env *Env) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "digestbot",
		Short: "Pin container image references to digests, keep them fresh, and catch pins that lie",
		Long: `digestbot finds every container image reference in a repository (Dockerfiles,
compose files, Kubernetes manifests), resolves each tag to the digest of its
manifest list / OCI index, and rewrites the reference to name:tag@sha256:<digest>
without changing any other byte.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// digestbot --version prints what digestbot version does.
		Version: version(),
	}
	root.SetVersionTemplate(versionLine())
	root.PersistentFlags().StringVar(&g.config, "config", "", "config file (default: the nearest "+config.FileName+" or .digestbot.yml from the first PATH up to the repository root)")
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "list only the findings that need action, and the summary")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "say which config was loaded, each registry's host and credential source, and the request counts (stderr)")
	root.PersistentFlags().BoolVar(&g.debug, "debug", false, "--verbose, plus one line per registry request: method, URL path, status, time (never a credential)")
	root.PersistentPreRun = func(*cobra.Command, []string) {
		env.verbose, env.debug = g.verbose || g.debug, g.debug
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitError, msg: err.Error() + "; see '" + c.CommandPath() + " --help'"}
	})
	root.AddCommand(
		newScanCmd(env, g, nil), newCheckCmd(env, g, nil), newFixCmd(env, g, nil),
		newPRCmd(env, g, nil), newCommentCmd(env, g, nil), newVersionCmd(env),
	)
	return root
}

// runError turns an error of the plan into the command's error: exit 2
// with its message (an interrupt keeps its own handling in Main).
func runError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: ExitError, msg: err.Error()}
}

// usageError reports bad usage with exit code 2.
// safeLine is text from outside (a file name, a ref) made one printable
// line that starts no workflow command and echoes no login (safetext).
func safeLine(s string) string { return safetext.Line(safetext.Redact(s)) }

// safeMsg is safeLine for a message, bounded to safetext.MaxMessage.
func safeMsg(s string) string { return safetext.Message(safetext.Redact(s)) }

func usageError(format string, args ...any) error {
	return &exitError{code: ExitError, msg: fmt.Sprintf(format, args...)}
}

func defaultPaths(args []string) []string {
	if len(args) == 0 {
		return []string{"."}
	}
	return args
}

func printProblems(w io.Writer, ps []finding.Problem) {
	for _, p := range ps {
		fmt.Fprintln(w, p.String())
	}
}

func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usageError("unknown --format %q; use %s", format, strings.Join(allowed, ", "))
}
