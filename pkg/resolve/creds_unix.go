//go:build unix

package resolve

import (
	"os/exec"
	"syscall"
)

// setHelperProcAttrs runs a credential helper in its own process group and
// kills the whole group when its deadline passes, so a helper script's
// children (a `sleep`, a pinentry) do not outlive it.
func setHelperProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
