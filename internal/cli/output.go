package cli

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/digestbot/digestbot/pkg/finding"
	"github.com/digestbot/digestbot/pkg/report"
	"github.com/digestbot/digestbot/pkg/resolve"
)

// logFuncs are the plan's --verbose and --debug hooks for this run (nil
// when off). Lines go to stderr, escaped; a request line holds the method,
// scheme, host and path only (never a header, query or body), so no
// credential can appear.
func logFuncs(env *Env) (func(string), func(resolve.RequestInfo)) {
	if !env.verbose {
		return nil, nil
	}
	var mu sync.Mutex
	logf := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(env.Stderr, "digestbot: "+safeMsg(s))
	}
	if !env.debug {
		return logf, nil
	}
	return logf, func(r resolve.RequestInfo) {
		status := fmt.Sprint(r.Status)
		if r.Err != nil && r.Status == 0 {
			status = "no answer"
		}
		logf(fmt.Sprintf("debug: %s %s://%s%s → %s (%.1fms)", r.Method, r.Scheme, r.Host, r.Path, status, float64(r.Duration)/float64(time.Millisecond)))
	}
}

// textOptions are the text report's options for this run: colour only on
// a terminal and without NO_COLOR (https://no-color.org), errors left to
// stderr where they are grouped by host.
func textOptions(env *Env, quiet bool) report.TextOptions {
	return report.TextOptions{
		Quiet:      quiet,
		OmitErrors: true,
		Color:      env.StdoutIsTerminal && env.Getenv("NO_COLOR") == "" && env.Getenv("TERM") != "dumb",
	}
}

// keyPrefixRe splits a resolver error, "<key>[ (via <host>)]: <what>".
var keyPrefixRe = regexp.MustCompile(`^(\S+)(?: \(via ([^()\s]+)\))?: (.+)$`)

// maxGroupRefs bounds the refs a grouped error line names.
const maxGroupRefs = 3

// printRefErrors prints the refs that could not be resolved on stderr,
// each error once: refs of several repositories that failed the same way
// on one host (a dead registry, a missing credential) share one line,
//
//	127.0.0.1:5101: connection to 127.0.0.1:5101 refused; …: 14 refs not checked (Dockerfile:1 node:20, …)
//
// and any other error gets its own line naming the file, line and ref.
// It returns how many refs had errors.
func printRefErrors(env *Env, findings []finding.Finding) int {
	type group struct {
		host, what string
		fs         []finding.Finding
	}
	var order []*group
	groups := map[string]*group{}
	n := 0
	for _, f := range findings {
		if f.Status != finding.Error {
			continue
		}
		n++
		host, what := "", ""
		if m := keyPrefixRe.FindStringSubmatch(f.Message); m != nil && f.Image != nil && strings.HasPrefix(m[1], *f.Image) {
			host, _, _ = strings.Cut(*f.Image, "/")
			if m[2] != "" {
				host = m[2]
			}
			what = m[3]
		}
		key := host + "\x00" + what
		if host == "" {
			key = fmt.Sprintf("\x01%d", n) // not groupable: its own line
		}
		g := groups[key]
		if g == nil {
			g = &group{host: host, what: what}
			groups[key] = g
			order = append(order, g)
		}
		g.fs = append(g.fs, f)
	}
	for _, g := range order {
		images := map[string]bool{}
		for _, f := range g.fs {
			images[finding.Deref(f.Image)] = true
		}
		// One repository failing (403, tag not found) is said per ref;
		// a failure shared by several repositories is the host's.
		if len(images) < 2 {
			for _, f := range g.fs {
				fmt.Fprintf(env.Stderr, "%s:%d: %s: %s\n", safeLine(f.File), f.Line, safeLine(f.Ref), safeMsg(f.Message))
			}
			continue
		}
		if len(g.fs) == 1 {
			f := g.fs[0]
			fmt.Fprintf(env.Stderr, "%s:%d: %s: %s\n", safeLine(f.File), f.Line, safeLine(f.Ref), safeMsg(f.Message))
			continue
		}
		var refs []string
		for i, f := range g.fs {
			if i == maxGroupRefs {
				refs = append(refs, fmt.Sprintf("and %d more", len(g.fs)-maxGroupRefs))
				break
			}
			refs = append(refs, fmt.Sprintf("%s:%d %s", safeLine(f.File), f.Line, safeLine(f.Ref)))
		}
		fmt.Fprintf(env.Stderr, "%s: %s: %d refs not checked (%s)\n", safeLine(g.host), safeMsg(g.what), len(g.fs), strings.Join(refs, ", "))
	}
	return n
}
