//go:build !unix

package resolve

import "os/exec"

// setHelperProcAttrs keeps exec's defaults: the helper is killed at its
// deadline and WaitDelay bounds the wait for its pipes.
func setHelperProcAttrs(*exec.Cmd) {}
