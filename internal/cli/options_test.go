package cli

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// run parses args with cmd under a root that has the global flags, as
// newRoot builds it, and returns the error.
func parse(t *testing.T, g *globalFlags, cmd *cobra.Command, args ...string) error {
	t.Helper()
	root := &cobra.Command{Use: "digestbot", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().StringVar(&g.config, "config", "", "")
	root.AddCommand(cmd)
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	return root.ExecuteContext(context.Background())
}

// TestCommandOptions: each command is flag parsing into its options plus
// one run function, so its flags are tested without running anything.
func TestCommandOptions(t *testing.T) {
	t.Parallel()
	env := &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}

	var fix *FixOptions
	g := &globalFlags{}
	err := parse(t, g, newFixCmd(env, g, func(_ context.Context, o *FixOptions) error { fix = o; return nil }),
		"fix", "--dry-run", "--concurrency", "3", "--timeout", "1m", "--config", "c.yaml", "a", "b")
	if err != nil || fix == nil {
		t.Fatalf("fix: %v", err)
	}
	if !fix.DryRun || fix.Resolve.Concurrency != 3 || fix.Resolve.Timeout != time.Minute || fix.ConfigFile != "c.yaml" ||
		len(fix.Paths) != 2 || fix.Paths[1] != "b" || fix.Env != env {
		t.Errorf("fix options = %+v", fix)
	}

	var check *CheckOptions
	g = &globalFlags{}
	if err := parse(t, g, newCheckCmd(env, g, func(_ context.Context, o *CheckOptions) error { check = o; return nil }), "check", "--format", "sarif"); err != nil {
		t.Fatal(err)
	}
	if check.Format != "sarif" || len(check.Paths) != 1 || check.Paths[0] != "." || check.Resolve.LookupTimeout <= 0 {
		t.Errorf("check options = %+v", check)
	}

	var scanOpts *ScanOptions
	g = &globalFlags{}
	if err := parse(t, g, newScanCmd(env, g, func(_ context.Context, o *ScanOptions) error { scanOpts = o; return nil }), "scan", "--format", "json", "x"); err != nil {
		t.Fatal(err)
	}
	if scanOpts.Format != "json" || scanOpts.Paths[0] != "x" {
		t.Errorf("scan options = %+v", scanOpts)
	}

	var pr *PROptions
	g = &globalFlags{}
	if err := parse(t, g, newPRCmd(env, g, func(_ context.Context, o *PROptions) error { pr = o; return nil }), "pr", "--base", "release", "--dry-run"); err != nil {
		t.Fatal(err)
	}
	if pr.Base != "release" || !pr.DryRun {
		t.Errorf("pr options = %+v", pr)
	}
	if err := parse(t, g, newPRCmd(env, g, func(context.Context, *PROptions) error { return nil }), "pr", "a", "b"); err == nil {
		t.Error("pr accepted two paths")
	}

	var comment *CommentOptions
	g = &globalFlags{}
	if err := parse(t, g, newCommentCmd(env, g, func(_ context.Context, o *CommentOptions) error { comment = o; return nil }), "comment", "--pr", "42"); err != nil {
		t.Fatal(err)
	}
	if comment.Number != 42 || comment.DryRun {
		t.Errorf("comment options = %+v", comment)
	}
}

// TestBadResolveFlags: flag values out of range are usage errors before
// anything runs.
func TestBadResolveFlags(t *testing.T) {
	t.Parallel()
	env := &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	for _, ro := range []ResolveOptions{
		{Concurrency: 0, Timeout: time.Second, LookupTimeout: time.Second},
		{Concurrency: 1, Timeout: 0, LookupTimeout: time.Second},
		{Concurrency: 1, Timeout: time.Second, LookupTimeout: -1},
	} {
		err := fixRun(context.Background(), &FixOptions{Env: env, Paths: []string{t.TempDir()}, Resolve: ro})
		ee, ok := err.(*exitError)
		if !ok || ee.code != ExitError || ee.msg == "" {
			t.Errorf("%+v: err = %v", ro, err)
		}
	}
}
