//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// serverCPUDuring runs f and returns the registry side's CPU time
// (serverCPU) spent meanwhile, the total and the registry process's part.
// The driver's own garbage is collected first (the floors parse thousands
// of files), so that its background GC does not run during f and count as
// the registry side's CPU.
func serverCPUDuring(pid int, f func() error) (total, registry time.Duration, err error) {
	runtime.GC()
	t0, r0, err := serverCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	if err := f(); err != nil {
		return 0, 0, err
	}
	t1, r1, err := serverCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	return t1 - t0, r1 - r0, nil
}

// serverCPU returns the CPU time (user + system) used so far by the
// registry's side of a run: this process (the counting proxy, the HEAD
// loop, and the in-process registry when there is one) plus, when pid > 0,
// the real registry's process, read from /proc/PID/stat. Deltas of it
// around a command are the CPU the command made the registry side spend,
// which on a machine whose cores the registry shares is taken from the
// command.
//
// It returns the total, and the real registry's part of it.
func serverCPU(pid int) (total, registry time.Duration, err error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, err
	}
	d := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if pid <= 0 {
		return d, 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("-registry-pid %d: %w", pid, err)
	}
	// Fields after the command name (which may hold spaces) start after
	// its closing parenthesis; utime and stime are fields 14 and 15, in
	// clock ticks (USER_HZ, 100 on Linux).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	r := time.Duration(ticks) * (time.Second / 100)
	return d + r, r, nil
}
