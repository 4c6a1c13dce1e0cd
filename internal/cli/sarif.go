package cli

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/digestbot/digestbot/pkg/report"
)

func init() {
	sarifWriter = func(env *Env, root string, findings []report.Finding) error {
		// Columns in SARIF count UTF-16 units: read the few lines needed.
		cache := map[string][][]byte{}
		lineText := func(file string, line int) string {
			lines, ok := cache[file]
			if !ok {
				b, _ := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
				lines = bytes.Split(b, []byte("\n"))
				cache[file] = lines
			}
			if line < 1 || line > len(lines) {
				return ""
			}
			return string(lines[line-1])
		}
		return report.WriteSARIF(env.Stdout, findings, version(), lineText)
	}
}
