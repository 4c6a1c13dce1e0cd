package rewriters

import (
	"errors"
	"testing"
)

func TestSplice(t *testing.T) {
	t.Parallel()
	src := []byte("FROM node:20 AS a\nFROM nginx\n")
	tests := []struct {
		name  string
		edits []Edit
		want  string
		err   error
	}{
		{"none", nil, string(src), nil},
		{"one", []Edit{{Span{5, 12}, "node:20@sha256:x"}}, "FROM node:20@sha256:x AS a\nFROM nginx\n", nil},
		{"unordered", []Edit{{Span{23, 28}, "nginx:latest@d"}, {Span{5, 12}, "n"}}, "FROM n AS a\nFROM nginx:latest@d\n", nil},
		{"adjacent", []Edit{{Span{0, 4}, "from"}, {Span{4, 5}, "\t"}}, "from\tnode:20 AS a\nFROM nginx\n", nil},
		{"insert", []Edit{{Span{12, 12}, "@d"}}, "FROM node:20@d AS a\nFROM nginx\n", nil},
		{"overlap", []Edit{{Span{5, 12}, "x"}, {Span{10, 14}, "y"}}, "", ErrOverlap},
		{"same span twice", []Edit{{Span{5, 12}, "x"}, {Span{5, 12}, "x"}}, "", ErrOverlap},
		{"two inserts at one offset", []Edit{{Span{5, 5}, "x"}, {Span{5, 5}, "y"}}, "", ErrOverlap},
		{"out of range", []Edit{{Span{5, 100}, "x"}}, "", ErrOutOfRange},
		{"negative", []Edit{{Span{-1, 2}, "x"}}, "", ErrOutOfRange},
		{"reversed", []Edit{{Span{6, 5}, "x"}}, "", ErrOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Splice(src, tt.edits)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if string(src) != "FROM node:20 AS a\nFROM nginx\n" {
		t.Fatal("Splice modified its input")
	}
}

func TestLineCol(t *testing.T) {
	t.Parallel()
	src := []byte("ab\r\ncd\né:x")
	for _, tt := range []struct{ off, line, col int }{{0, 1, 1}, {1, 1, 2}, {4, 2, 1}, {7, 3, 1}, {9, 3, 3}} {
		if l, c := LineCol(src, tt.off); l != tt.line || c != tt.col {
			t.Errorf("LineCol(%d) = %d:%d, want %d:%d", tt.off, l, c, tt.line, tt.col)
		}
	}
}

func TestClassifyNames(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]Kind{
		"Dockerfile": Dockerfile, "dockerfile": Dockerfile, "Containerfile": Dockerfile,
		"api.Dockerfile": Dockerfile, "x.dockerfile": Dockerfile, "Dockerfile.dev": Dockerfile,
		"Containerfile.prod": Dockerfile, "compose.yaml": Compose, "compose.yml": Compose,
		"compose.prod.yaml": Compose, "docker-compose.yml": Compose, "docker-compose.override.yaml": Compose,
		"main.go": "", "Dockerfile.go.txt": Dockerfile, "README.md": "",
	} {
		if got := Classify(name, nil); got != want {
			t.Errorf("Classify(%q) = %q, want %q", name, got, want)
		}
	}
}
