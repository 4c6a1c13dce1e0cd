package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"deploy/app.yaml", "deploy/app.yaml"},
		{"x\n::warning file=a::INJECTED", `x\n::warning file=a::INJECTED`},
		{"::warning file=a::INJECTED", `\x3a:warning file=a::INJECTED`},
		{"  ::error::x", `  \x3a:error::x`},
		{"label \x1b[31mred\x1b[0m", `label \x1b[31mred\x1b[0m`},
		{"tab\there", `tab\there`},
		{"cr\rlf", `cr\rlf`},
		{"bidi \u202eevil", `bidi \u202eevil`},
		{"nel \u0085 ls \u2028", `nel \u0085 ls \u2028`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"café ünïcode", "café ünïcode"},
		{"[::1]:5000/app", "[::1]:5000/app"},
		{`C:\path\x`, `C:\path\x`},
	} {
		if got := Line(tc.in); got != tc.want {
			t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 3000)
	got := Clip(long, 101)
	if !utf8.ValidString(got) || !strings.HasPrefix(got, strings.Repeat("é", 50)) || !strings.Contains(got, "more bytes)") {
		t.Errorf("Clip = %q", got)
	}
	if len(Message(strings.Repeat("x", 200_000))) > MaxMessage+40 {
		t.Errorf("Message not bounded")
	}
	if Clip("short", 10) != "short" {
		t.Errorf("short text changed")
	}
}

func TestLines(t *testing.T) {
	t.Parallel()
	got := Lines("ok\n::set-output name=x::y\r\nend\x1b")
	want := "ok\n\\x3a:set-output name=x::y\nend\\x1b"
	if got != want {
		t.Errorf("Lines = %q, want %q", got, want)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"rejected Basic dXNlcjpwYXNz", "rejected Basic ***"},
		{"rejected Basic dXNlcjpw%YXNz\" and more", "rejected Basic ***"},
		{"header: Bearer eyJ.abc:def!@#$", "header: Bearer ***"},
		{"GET /token?access_token=abc123&x=1", "GET /token?access_token=***&x=1"},
		{"password=hunter2 next", "password=*** next"},
		{"https://user:pw@example.com/x", "https://***@example.com/x"},
		{"registries.docker.io.host user:pw@evil.example", "registries.docker.io.host ***@evil.example"},
		{"FROM robot:s3cret@registry.example.com/app:1", "FROM ***@registry.example.com/app:1"},
		{"node:20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "node:20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"docker.io/library/nginx:1.27 (via 127.0.0.1:5000): tag not found", "docker.io/library/nginx:1.27 (via 127.0.0.1:5000): tag not found"},
		{"basic checks passed", "basic checks passed"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var r Redactor
	r.Add("ghs_secretToken")
	r.Add("ab") // too short to be told from words
	if got := r.Clean("token ghs_secretToken and ab"); got != "token *** and ab" {
		t.Errorf("Clean = %q", got)
	}
}

// redactSlow is Redact without the checks that skip a pattern: every
// pattern always runs.
func redactSlow(s string) string {
	s = schemeRe.ReplaceAllStringFunc(s, func(m string) string {
		return m[:strings.IndexAny(m, " \t")] + " ***"
	})
	s = paramRe.ReplaceAllStringFunc(s, func(m string) string {
		return m[:strings.IndexByte(m, '=')+1] + "***"
	})
	return userinfoRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfoRe.FindStringSubmatch(m)
		host := strings.ToLower(sub[3])
		if host == "sha256" || host == "sha512" || (sub[1] == "" && sub[2] == "") {
			return m
		}
		return "***@" + sub[3]
	})
}

// FuzzRedact: skipping a pattern when its needed bytes are absent never
// changes what Redact returns.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"rejected Basic dXNlcjpwYXNz", "https://user:pw@example.com/x", "a:b c@d", "a:b/c@d", "a:b@c:d@e",
		"x:\v@y", "password=x", "GET /t?token=a&b=c", "node:20@sha256:00", "Bearer\tz", ":@h", "u:p@",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Redact(s), redactSlow(s); got != want {
			t.Fatalf("Redact(%q) = %q, without the checks %q", s, got, want)
		}
	})
}

// FuzzLine: whatever the input, the output is one line of printable text
// that never starts a workflow command.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"a\nb", "::x::y", "\x1b]0;title\x07", " ::a", "\xff\xfe", "\u202e", "ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Line(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		for _, r := range got {
			if unsafeRune(r) {
				t.Fatalf("unsafe rune %U in %q", r, got)
			}
		}
		if startsCommand(got) {
			t.Fatalf("starts a workflow command: %q", got)
		}
		if c := Clip(s, 50); len(c) > 50+len("… (000000000 more bytes)") {
			t.Fatalf("Clip too long: %d", len(c))
		}
	})
}
