package plan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/digestbot/digestbot/pkg/config"
	"github.com/digestbot/digestbot/pkg/scan"
)

// TestItemsParallelMatchesSerial: items parses files on several goroutines
// once there are more than 64; the result is exactly what one goroutine
// gives, in the files' order (run with -race, it also shows fileItems
// shares nothing it writes).
func TestItemsParallelMatchesSerial(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for i := range 300 {
		var src string
		switch i % 4 {
		case 0:
			src = fmt.Sprintf("FROM alpine:3.%d\nRUN true\n", i)
		case 1:
			src = fmt.Sprintf("# digestbot:ignore vendored\nFROM busybox:1.%d AS b\nFROM b\n", i)
		case 2:
			src = fmt.Sprintf("FROM Nginx:1.%d\n", i) // invalid: upper case
		default:
			src = fmt.Sprintf("ARG V=1.%d\nFROM ghcr.io/acme/app:$V\nFROM example.com/ignored/x:%d\n", i, i)
		}
		dir := filepath.Join(root, fmt.Sprintf("d%03d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.Ignore = []string{"example.com/ignored/*"}
	res, err := scan.Scan(context.Background(), root, scan.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 300 {
		t.Fatalf("scanned %d files, want 300", len(res.Files))
	}
	got := items(res.Files, cfg)
	type flat struct {
		File, Text, Skip, Invalid, Parsed string
	}
	view := func(all [][]*item) [][]flat {
		out := make([][]flat, len(all))
		for i, its := range all {
			for _, it := range its {
				p := ""
				if it.parsed {
					p = it.p.Image() + "|" + it.p.TagOrLatest() + "|" + it.p.Digest
				}
				out[i] = append(out[i], flat{it.file.Path, it.ref.Text, it.skip, it.invalid, p})
			}
		}
		return out
	}
	want := make([][]*item, len(res.Files))
	for i, f := range res.Files {
		want[i] = fileItems(f, cfg)
	}
	if g, w := view(got), view(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("parallel items differ from serial:\n got %v\nwant %v", g[:3], w[:3])
	}
	// The cases are all there, so the comparison compares something.
	var skipped, invalid, ignored int
	for _, its := range view(got) {
		for _, it := range its {
			switch {
			case it.Invalid != "":
				invalid++
			case it.Skip != "" && it.Parsed != "":
				ignored++
			case it.Skip != "":
				skipped++
			}
		}
	}
	if invalid == 0 || ignored == 0 {
		t.Fatalf("cases missing: %d invalid, %d ignored, %d skipped", invalid, ignored, skipped)
	}
}
