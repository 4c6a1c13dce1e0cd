package plan

import (
	"fmt"
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
	files := make([]*scan.File, 300)
	for i := range files {
		path := fmt.Sprintf("d%03d/Dockerfile", i)
		switch i % 4 {
		case 0:
			files[i] = file(t, path, fmt.Sprintf("FROM alpine:3.%d\nRUN true\n", i), fmt.Sprintf("alpine:3.%d", i))
		case 1:
			files[i] = file(t, path, fmt.Sprintf("# digestbot:ignore vendored\nFROM busybox:1.%d AS b\nFROM b\n", i), fmt.Sprintf("busybox:1.%d", i))
		case 2:
			files[i] = file(t, path, fmt.Sprintf("FROM Nginx:1.%d\n", i), fmt.Sprintf("Nginx:1.%d", i)) // invalid: upper case
		default:
			files[i] = file(t, path, fmt.Sprintf("ARG V=1.%d\nFROM ghcr.io/acme/app:$V\nFROM example.com/ignored/x:%d\n", i, i),
				"ghcr.io/acme/app:$V", fmt.Sprintf("example.com/ignored/x:%d", i))
		}
	}
	cfg := config.Default()
	cfg.Ignore = []string{"example.com/ignored/*"}
	got := items(files, cfg)
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
	want := make([][]*item, len(files))
	for i, f := range files {
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
