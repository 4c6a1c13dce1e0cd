package resolve

import (
	"github.com/regclient/regclient/types/ref"

	"github.com/digestbot/digestbot/pkg/imgref"
)

// KeyOf is the tag lookup a parsed reference needs: its normalised
// registry and repository, and its tag (DefaultTag when none is written).
// A reference is parsed once, by imgref; keys carry its parts.
func KeyOf(r imgref.Ref) Key {
	return Key{Registry: r.Registry, Repository: r.Repository, Tag: r.TagOrLatest()}
}

// RepoKey is the repository of a parsed reference, with no tag (for a
// digest-only pin).
func RepoKey(r imgref.Ref) Key {
	return Key{Registry: r.Registry, Repository: r.Repository}
}

// Ref is the key's regclient form, built from its parts, never by parsing
// text again. The parts are checked, since a Key may come from any caller.
func (k Key) Ref() (ref.Ref, error) {
	if err := imgref.CheckRepository(k.Registry, k.Repository); err != nil {
		return ref.Ref{}, err
	}
	r := ref.Ref{Scheme: "reg", Registry: k.Registry, Repository: k.Repository, Reference: k.Registry + "/" + k.Repository}
	if k.Tag != "" {
		if !imgref.ValidTag(k.Tag) {
			return ref.Ref{}, &Error{Key: k, Kind: ErrInvalidRef, What: "invalid tag"}
		}
		r.Tag = k.Tag
		r.Reference = k.String()
	}
	return r, nil
}
