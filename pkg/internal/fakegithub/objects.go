package fakegithub

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Git file modes as the REST API spells them.
const (
	ModeFile    = "100644"
	ModeExec    = "100755"
	ModeSymlink = "120000"
	ModeTree    = "040000"
)

type treeEntry struct {
	Name string
	Mode string // ModeFile, ModeExec, ModeSymlink or ModeTree
	SHA  string
}

func (e treeEntry) typ() string {
	if e.Mode == ModeTree {
		return "tree"
	}
	return "blob"
}

type commitObj struct {
	Tree    string
	Parents []string
	Message string
	Author  string
	Email   string
	Time    int64
	// Verified mimics GitHub signing commits made through the API.
	Verified bool
}

// fileEntry is a blob at a path in a flattened tree.
type fileEntry struct {
	Mode string
	SHA  string
}

func hashObject(kind string, body []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", kind, len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// BlobSHA is git's object name of a blob holding content.
func BlobSHA(content []byte) string { return hashObject("blob", content) }

func (s *Server) putBlob(content []byte) string {
	sha := BlobSHA(content)
	s.blobs[sha] = append([]byte(nil), content...)
	return sha
}

// putTree stores a tree in git's canonical order and returns its real SHA.
func (s *Server) putTree(entries []treeEntry) string {
	sorted := append([]treeEntry(nil), entries...)
	key := func(e treeEntry) string {
		if e.Mode == ModeTree {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(sorted, func(i, j int) bool { return key(sorted[i]) < key(sorted[j]) })
	var body []byte
	for _, e := range sorted {
		mode := strings.TrimPrefix(e.Mode, "0")
		raw, _ := hex.DecodeString(e.SHA)
		body = append(body, mode+" "+e.Name+"\x00"...)
		body = append(body, raw...)
	}
	sha := hashObject("tree", body)
	s.trees[sha] = sorted
	return sha
}

func (s *Server) putCommit(c *commitObj) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tree %s\n", c.Tree)
	for _, p := range c.Parents {
		fmt.Fprintf(&b, "parent %s\n", p)
	}
	fmt.Fprintf(&b, "author %s <%s> %d +0000\n", c.Author, c.Email, c.Time)
	fmt.Fprintf(&b, "committer %s <%s> %d +0000\n\n", c.Author, c.Email, c.Time)
	b.WriteString(c.Message)
	sha := hashObject("commit", []byte(b.String()))
	s.commits[sha] = c
	return sha
}

// flatten lists every blob under a tree by its full path.
func (s *Server) flatten(treeSHA string) map[string]fileEntry {
	out := map[string]fileEntry{}
	var walk func(sha, prefix string)
	walk = func(sha, prefix string) {
		for _, e := range s.trees[sha] {
			if e.Mode == ModeTree {
				walk(e.SHA, prefix+e.Name+"/")
				continue
			}
			out[prefix+e.Name] = fileEntry{Mode: e.Mode, SHA: e.SHA}
		}
	}
	walk(treeSHA, "")
	return out
}

// build stores the trees of a flat path → blob map and returns the root SHA.
func (s *Server) build(files map[string]fileEntry) string {
	direct := []treeEntry{}
	sub := map[string]map[string]fileEntry{}
	for p, e := range files {
		if i := strings.IndexByte(p, '/'); i >= 0 {
			dir := p[:i]
			if sub[dir] == nil {
				sub[dir] = map[string]fileEntry{}
			}
			sub[dir][p[i+1:]] = e
			continue
		}
		direct = append(direct, treeEntry{Name: p, Mode: e.Mode, SHA: e.SHA})
	}
	for dir, m := range sub {
		direct = append(direct, treeEntry{Name: dir, Mode: ModeTree, SHA: s.build(m)})
	}
	return s.putTree(direct)
}

// ancestors returns every commit reachable from sha, itself included.
func (s *Server) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	queue := []string{sha}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		if obj := s.commits[c]; obj != nil {
			queue = append(queue, obj.Parents...)
		}
	}
	return seen
}

// mergeBase is the nearest common ancestor of two commits ("" if none).
func (s *Server) mergeBase(a, b string) string {
	inA := s.ancestors(a)
	seen := map[string]bool{}
	queue := []string{b}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		if inA[c] {
			return c
		}
		if obj := s.commits[c]; obj != nil {
			queue = append(queue, obj.Parents...)
		}
	}
	return ""
}
