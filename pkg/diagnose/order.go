package diagnose

import (
	"math/big"
	"regexp"
	"sort"
	"strings"
)

// tagShape is a tag split around its version numbers: "v1.2.3-alpine" is
// {prefix "v", nums [1 2 3], suffix "-alpine"}. A tag without digits
// ("latest", "noble") has no nums.
type tagShape struct {
	prefix string
	nums   []*big.Int
	suffix string
}

// versionRe finds the first run of dot-separated numbers in a tag.
var versionRe = regexp.MustCompile(`^(\D*?)(\d+(?:\.\d+)*)(.*)$`)

func shapeOf(tag string) tagShape {
	m := versionRe.FindStringSubmatch(tag)
	if m == nil {
		return tagShape{prefix: tag}
	}
	s := tagShape{prefix: m[1], suffix: m[3]}
	for _, p := range strings.Split(m[2], ".") {
		n, _ := new(big.Int).SetString(p, 10)
		s.nums = append(s.nums, n)
	}
	return s
}

func (s tagShape) versioned() bool { return len(s.nums) > 0 }

// leadingVersion reports whether the tag starts with its version ("20.04",
// "v1.2", "3.20-alpine"), as opposed to a name that merely holds a number
// ("jammy-20240101", "alpine3.20").
func (s tagShape) leadingVersion() bool {
	return s.versioned() && (s.prefix == "" || s.prefix == "v" || s.prefix == "V")
}

// covers reports whether a tag of shape s names a line of releases that
// includes a tag of shape o: "20" covers "20.11.1", "3.20-alpine" covers
// "3.20.3-alpine", "20.04" does not cover "16.04". A tag without a leading
// version ("latest", "stable", "jammy") covers nothing: it is judged by the
// caller.
func (s tagShape) covers(o tagShape) bool {
	if !s.leadingVersion() || !o.versioned() || len(o.nums) < len(s.nums) {
		return false
	}
	if strings.TrimPrefix(strings.ToLower(s.prefix), "v") != strings.TrimPrefix(strings.ToLower(o.prefix), "v") || s.suffix != o.suffix {
		return false
	}
	for i, n := range s.nums {
		if n.Cmp(o.nums[i]) != 0 {
			return false
		}
	}
	return true
}

// contradicts reports whether a version (from a label or annotation)
// plainly disagrees with the written tag: both start with a version and the
// tag's numbers are not a prefix of the label's. "20.04" vs "16.04" does;
// "20" vs "20.11.1" and "latest" vs anything do not.
func contradicts(writtenTag, version string) bool {
	w, v := shapeOf(writtenTag), shapeOf(version)
	if !w.leadingVersion() || !v.leadingVersion() {
		return false
	}
	for i, n := range w.nums {
		if i >= len(v.nums) {
			return false // "20.04.1" written, labelled "20.04": consistent enough
		}
		if n.Cmp(v.nums[i]) != 0 {
			return true
		}
	}
	return false
}

// consistent reports whether a version (from a label or annotation) belongs
// to the release line the written tag names: both start with a version and
// the tag's numbers are a prefix of the version's ("20" and "20.11.1",
// "3.20-alpine" and "3.20.3", "20.04" and "20.04").
func consistent(writtenTag, version string) bool {
	w, v := shapeOf(writtenTag), shapeOf(version)
	if !w.leadingVersion() || !v.leadingVersion() || len(v.nums) < len(w.nums) {
		return false
	}
	for i, n := range w.nums {
		if n.Cmp(v.nums[i]) != 0 {
			return false
		}
	}
	return true
}

// ignoredTag reports tags that never name an image anyone pins: cosign
// signatures, attestations and SBOMs stored as sha256-<hex>.sig tags.
func ignoredTag(tag string) bool {
	return strings.HasPrefix(tag, "sha256-") || strings.HasPrefix(tag, "sha512-")
}

// OrderTags returns tags in the order the mismatch search tries them,
// nearest to written first, without written itself and without signature
// tags (sha256-….sig). For a versioned written tag ("20.04"):
//
//  1. the same shape (prefix, suffix and number of components: 20.10,
//     19.10, 18.04, 16.04, …), nearest version first: components are
//     compared left to right by absolute difference, ties going to the
//     older version;
//  2. the same prefix and suffix with more or fewer components (20.04.1, 20);
//  3. the same prefix with another suffix (20.04-slim);
//  4. any other versioned tag (jammy-20240101);
//  5. names without numbers (latest, rolling, devel), alphabetically.
//
// For an unversioned written tag ("latest", or "" for a digest-only pin),
// latest comes first, then versioned tags newest first, then other names.
func OrderTags(written string, tags []string) []string {
	w := shapeOf(written)
	type cand struct {
		tag   string
		s     tagShape
		group int
	}
	var cs []cand
	seen := map[string]bool{}
	for _, t := range tags {
		if t == written || seen[t] || ignoredTag(t) {
			continue
		}
		seen[t] = true
		c := cand{tag: t, s: shapeOf(t)}
		switch {
		case !w.versioned():
			switch {
			case t == "latest":
				c.group = 0
			case c.s.versioned():
				c.group = 1
			default:
				c.group = 2
			}
		case !c.s.versioned():
			c.group = 4
		case c.s.prefix == w.prefix && c.s.suffix == w.suffix && len(c.s.nums) == len(w.nums):
			c.group = 0
		case c.s.prefix == w.prefix && c.s.suffix == w.suffix:
			c.group = 1
		case c.s.prefix == w.prefix:
			c.group = 2
		default:
			c.group = 3
		}
		cs = append(cs, c)
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.group != b.group {
			return a.group < b.group
		}
		if !a.s.versioned() || !b.s.versioned() {
			return a.tag < b.tag
		}
		if !w.versioned() {
			// Newest first.
			if c := cmpNums(a.s.nums, b.s.nums); c != 0 {
				return c > 0
			}
			return a.tag < b.tag
		}
		if c := cmpDistance(w.nums, a.s.nums, b.s.nums); c != 0 {
			return c < 0
		}
		if c := cmpNums(a.s.nums, b.s.nums); c != 0 {
			return c < 0 // older first
		}
		return a.tag < b.tag
	})
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.tag
	}
	return out
}

// cmpDistance compares how far a and b are from w, component by
// component: the first component that differs in distance decides.
func cmpDistance(w, a, b []*big.Int) int {
	n := max(len(a), len(b))
	var da, db big.Int
	for i := range n {
		wi := at(w, i)
		da.Sub(at(a, i), wi)
		da.Abs(&da)
		db.Sub(at(b, i), wi)
		db.Abs(&db)
		if c := da.Cmp(&db); c != 0 {
			return c
		}
	}
	return 0
}

func cmpNums(a, b []*big.Int) int {
	for i := range max(len(a), len(b)) {
		if c := at(a, i).Cmp(at(b, i)); c != 0 {
			return c
		}
	}
	return 0
}

var zero = new(big.Int)

func at(n []*big.Int, i int) *big.Int {
	if i < len(n) {
		return n[i]
	}
	return zero
}
