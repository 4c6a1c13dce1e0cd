package cli

import (
	"fmt"
	"sync"
	"time"
)

// progress writes a single self-overwriting status line on stderr when it
// is a terminal, at most a few times a second; otherwise it does nothing.
type progress struct {
	env                *Env
	mu                 sync.Mutex
	last               time.Time
	nfiles, nrefs, all int
	shown              bool
}

func newProgress(env *Env) *progress { return &progress{env: env} }

func (p *progress) files(n int) {
	if !p.env.StderrIsTerminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nfiles = n
	p.show(false)
}

func (p *progress) refs(done, all int) {
	if !p.env.StderrIsTerminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nrefs, p.all = done, all
	p.show(done == all)
}

func (p *progress) show(force bool) {
	now := time.Now()
	if !force && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	p.shown = true
	if p.all > 0 {
		fmt.Fprintf(p.env.Stderr, "\r\033[Kscanned %d files, resolved %d/%d tags", p.nfiles, p.nrefs, p.all)
	} else {
		fmt.Fprintf(p.env.Stderr, "\r\033[Kscanned %d files", p.nfiles)
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.env.Stderr, "\r\033[K")
		p.shown = false
	}
}
