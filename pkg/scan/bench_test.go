package scan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// genTree writes a synthetic monorepo: mostly source and docs, with one
// image-bearing file in every tenth file (a Dockerfile, a compose file or
// a Kubernetes manifest in turn). It returns the total bytes written.
func genTree(tb testing.TB, root string, files int) int64 {
	tb.Helper()
	var total int64
	noise := strings.Repeat("// some source code that mentions image: and FROM in passing\n", 40)
	for i := 0; i < files; i++ {
		dir := filepath.Join(root, fmt.Sprintf("svc%03d", i/100), fmt.Sprintf("pkg%02d", (i/10)%10))
		if i%100 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				tb.Fatal(err)
			}
		}
		var name, content string
		switch {
		case i%30 == 0:
			name = "Dockerfile"
			content = fmt.Sprintf("# syntax=docker/dockerfile:1\nFROM golang:1.%d AS build\nRUN go build ./...\nFROM gcr.io/distroless/static:nonroot\nCOPY --from=build /app /app\n", i%20)
		case i%30 == 10:
			name = "compose.yaml"
			content = fmt.Sprintf("services:\n  web:\n    image: nginx:1.%d\n  db:\n    image: postgres:%d\n", i%25, 10+i%7)
		case i%30 == 20:
			name = "deploy.yaml"
			content = fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app%d\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/acme/app%d:v1.%d\n", i, i%50, i%9)
		case i%2 == 0:
			name = fmt.Sprintf("file%d.go", i)
			content = noise
		default:
			name = fmt.Sprintf("doc%d.md", i)
			content = noise
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
		total += int64(len(content))
	}
	return total
}

// BenchmarkScan measures scanning a generated 10,000-file tree in which one
// file in ten holds images. Figures are recorded in the README.
func BenchmarkScan(b *testing.B) {
	root := b.TempDir()
	const files = 10000
	bytes := genTree(b, root, files)
	b.SetBytes(bytes)
	b.ResetTimer()
	var refs int
	for i := 0; i < b.N; i++ {
		res, err := Scan(context.Background(), root, Options{})
		if err != nil {
			b.Fatal(err)
		}
		refs = 0
		for _, f := range res.Files {
			refs += len(f.Refs)
		}
	}
	b.StopTimer()
	if refs == 0 {
		b.Fatal("no refs found in the generated tree")
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(files)/sec, "files/s")
	b.ReportMetric(float64(refs)/sec, "refs/s")
}
