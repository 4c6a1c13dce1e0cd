package scan

import (
	"errors"
	"fmt"
	"io/fs"
)

// Errors of the tree formats read other files through (File.Tree).
var (
	// errNotAllowed: the path is a symlink, a device, a FIFO, excluded or
	// in .git. It wraps fs.ErrNotExist so formats treat it as absent.
	errNotAllowed = fmt.Errorf("not readable through the tree: %w", fs.ErrNotExist)
	// errTooLarge: a file is larger than MaxFileSize.
	errTooLarge = errors.New("file too large")
)
