// Command digestbot pins container image references to digests.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/digestbot/digestbot/internal/cli"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first SIGINT or SIGTERM cancels the run: files being
		// written are finished (each is an atomic rename), no new one is
		// started, and digestbot exits 2 as soon as the work in flight
		// ends.
		<-sigs
		cancel()
		// A second one ends the process at once: whoever sends it does
		// not want to wait for that work. Files already written are
		// whole; a file being written is its old version (at most a
		// temporary file is left beside it).
		s := <-sigs
		fmt.Fprintln(os.Stderr, "digestbot: interrupted again; exiting now")
		code := 130
		if s == syscall.SIGTERM {
			code = 143
		}
		os.Exit(code)
	}()
	code := cli.Main(ctx, os.Args[1:], cli.OSEnv())
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}
