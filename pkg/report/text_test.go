package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/finding"
)

func TestTextColumnsQuietColor(t *testing.T) {
	t.Parallel()
	str := finding.Str
	fs := []finding.Finding{
		{File: "Dockerfile", Line: 1, Column: 6, Ref: "node:20", Status: finding.Unpinned, Image: str("docker.io/library/node")},
		{File: "deploy/app.yaml", Line: 12, Column: 16, Ref: "nginx:1.27@sha256:abc", Status: finding.OK, Message: ""},
		{File: "compose.yaml", Line: 3, Column: 12, Ref: "redis", Status: finding.Skipped, Message: "ignored"},
		{File: "x.yaml", Line: 2, Column: 3, Ref: "a:1", Status: finding.Error, Message: "refused"},
		{File: "y.yaml", Line: 1, Column: 1, Ref: "b:1@sha256:def", Status: finding.OK, Message: "index lacks required platform linux/s390x", NeedsAction: true},
	}
	var b bytes.Buffer
	if err := WriteTextOpts(&b, fs, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "Dockerfile:1:6         unpinned  node:20\n" +
		"deploy/app.yaml:12:16  ok        nginx:1.27@sha256:abc\n" +
		"compose.yaml:3:12      skipped   redis                  ignored\n" +
		"x.yaml:2:3             error     a:1                    refused\n" +
		"y.yaml:1:1             ok        b:1@sha256:def         index lacks required platform linux/s390x\n" +
		"5 refs in 5 files: 1 unpinned, 2 ok, 1 skipped, 1 error\n"
	if b.String() != want {
		t.Errorf("aligned text:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteTextOpts(&b, fs, TextOptions{Quiet: true, OmitErrors: true}); err != nil {
		t.Fatal(err)
	}
	want = "Dockerfile:1:6  unpinned  node:20\n" +
		"y.yaml:1:1      ok        b:1@sha256:def  index lacks required platform linux/s390x\n" +
		"5 refs in 5 files: 1 unpinned, 2 ok, 1 skipped, 1 error\n"
	if b.String() != want {
		t.Errorf("quiet text:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteTextOpts(&b, fs[:2], TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\x1b[33munpinned\x1b[0m") || !strings.Contains(b.String(), "\x1b[32mok      \x1b[0m") {
		t.Errorf("colour: %q", b.String())
	}
}
