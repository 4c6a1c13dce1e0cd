//go:build unix

package config

import (
	"os"
	"syscall"
)

// fileOwner returns the uid owning path (not following a symlink).
func fileOwner(path string) (int, bool) {
	info, err := os.Lstat(path)
	if err != nil {
		return 0, false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
