package config

import "errors"

// Sentinel errors of this package; callers test them with errors.Is.
var (
	// ErrInvalid wraps every validation error.
	ErrInvalid = errors.New("invalid config")
	// ErrAmbiguous: a folder holds both .digestbot.yaml and .digestbot.yml,
	// and which one wins would be a guess.
	ErrAmbiguous = errors.New("two config files")
	// ErrUntrusted: the config Discover found sits in a folder above PATH,
	// outside any repository, and belongs to another user (a
	// /tmp/.digestbot.yaml anyone could plant would remap registries).
	ErrUntrusted = errors.New("config owned by another user")
)
