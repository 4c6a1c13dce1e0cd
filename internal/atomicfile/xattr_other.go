//go:build !linux

package atomicfile

import "os"

// copyXattrs is Linux-only for now: elsewhere extended attributes are not
// copied (owner, group and mode are).
func copyXattrs(src, dst *os.File) error { return nil }
