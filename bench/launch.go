//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Peak RSS has to be measured through a launcher. On Linux a child's
// ru_maxrss includes the RSS of the process that started it: exec records
// the old address space's high-water mark, and Go starts children with
// CLONE_VM, so the old address space is the parent's. Measured from this
// driver (which holds a registry and the generated tree's image files)
// every child would look at least as large as the driver. The launcher is
// this binary re-executed: a fresh, small process that runs the command,
// times it, and reports its rusage on fd 3.

const launchEnv = "DIGESTBOT_BENCH_LAUNCH"

// launched is what the launcher reports about the command it ran.
type launched struct {
	Exit      int           `json:"exit"`
	MaxRSSKiB int64         `json:"maxrss_kib"`
	CPU       time.Duration `json:"cpu_ns"`
	Wall      time.Duration `json:"wall_ns"`
	// Start is when the command was started (wall clock), to place the
	// registry's first request within the run.
	Start time.Time `json:"start"`
	Err   string    `json:"err,omitempty"`
}

// maybeLaunch runs the launcher when this process is one; it then never
// returns.
func maybeLaunch() {
	spec := os.Getenv(launchEnv)
	if spec == "" {
		return
	}
	out := os.NewFile(3, "result")
	var res launched
	var argv []string
	if err := json.Unmarshal([]byte(spec), &argv); err != nil || len(argv) == 0 {
		res.Err = fmt.Sprintf("bad %s: %v", launchEnv, err)
	} else {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, launchEnv+"=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		start := time.Now()
		res.Start = start
		err := cmd.Run()
		res.Wall = time.Since(start)
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			res.Err = err.Error()
		} else {
			res.Exit = cmd.ProcessState.ExitCode()
			res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				res.MaxRSSKiB = ru.Maxrss
			}
		}
	}
	_ = json.NewEncoder(out).Encode(res)
	os.Exit(0)
}

// launch runs argv through the launcher. stdout is discarded; stderr is
// returned.
func launch(ctx context.Context, argv []string) (*launched, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	spec, _ := json.Marshal(argv)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), launchEnv+"="+string(spec))
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout = io.Discard
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, "", err
	}
	w.Close()
	var res launched
	decErr := json.NewDecoder(r).Decode(&res)
	if err := cmd.Wait(); err != nil {
		return nil, stderr.String(), fmt.Errorf("launcher: %w", err)
	}
	if decErr != nil {
		return nil, stderr.String(), fmt.Errorf("launcher: %w", decErr)
	}
	if res.Err != "" {
		return nil, stderr.String(), fmt.Errorf("%s: %s", argv[0], res.Err)
	}
	return &res, stderr.String(), nil
}
