package verify

import "errors"

// Sentinel errors. Errors of New wrap ErrPolicy; Result.Err wraps
// ErrLookup or ErrTrustedRoot. Test with errors.Is.
var (
	// ErrPolicy: a verify rule cannot be used — a key file that cannot be
	// read or holds no public key, a trusted-root file that does not parse.
	// It is a configuration error: the message names the file and the rule.
	ErrPolicy = errors.New("bad verify rule")
	// ErrLookup: the signatures of a digest could not be read from the
	// registry (no answer in time, 5xx, refused, not authorized). The digest
	// is neither verified nor refuted; callers must not write it.
	ErrLookup = errors.New("signature lookup failed")
	// ErrTrustedRoot: the Sigstore public-good trusted root could not be
	// fetched through TUF, so keyless signatures cannot be checked.
	ErrTrustedRoot = errors.New("trusted root unavailable")
)
