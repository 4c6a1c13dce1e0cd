//go:build !unix

package atomicfile

import (
	"io/fs"
	"os"
)

const oNoFollow = 0

func keepOwner(*os.File, fs.FileInfo) error { return nil }
