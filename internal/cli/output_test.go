package cli

import "testing"

// Colour only on a terminal, never with NO_COLOR (any value) or TERM=dumb.
func TestTextOptionsColour(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		terminal bool
		env      map[string]string
		want     bool
	}{
		{true, nil, true},
		{false, nil, false},
		{true, map[string]string{"NO_COLOR": "1"}, false},
		{true, map[string]string{"TERM": "dumb"}, false},
	} {
		env := &Env{StdoutIsTerminal: tc.terminal, Getenv: func(k string) string { return tc.env[k] }}
		if got := textOptions(env, false).Color; got != tc.want {
			t.Errorf("terminal %v env %v: colour %v, want %v", tc.terminal, tc.env, got, tc.want)
		}
	}
}
