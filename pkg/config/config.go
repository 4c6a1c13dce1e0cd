// Package config reads .digestbot.yaml. Unknown keys and bad values are
// errors that name the file, line and key, so a typo never silently turns a
// setting off.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"
)

// FileName is the config file read from the root of the first PATH.
const FileName = ".digestbot.yaml"

// TLS modes of a registry.
const (
	TLSEnabled  = "enabled"
	TLSInsecure = "insecure"
	TLSDisabled = "disabled"
)

// Config is the content of .digestbot.yaml.
type Config struct {
	// Exclude holds globs, relative to the root, of paths never scanned.
	Exclude []string `yaml:"exclude"`
	// Ignore holds globs on normalised image names never touched.
	Ignore []string `yaml:"ignore"`
	// Registries maps a registry name as it appears in refs to its settings.
	Registries map[string]Registry `yaml:"registries"`
	// Platforms every multi-platform tag must provide (e.g. linux/arm64).
	Platforms []string `yaml:"platforms"`
	// Pins tunes how existing pins are judged.
	Pins Pins `yaml:"pins"`
	// PullRequest configures `digestbot pr`.
	PullRequest PullRequest `yaml:"pull-request"`
	// Helm tunes how Helm values files are read and pinned.
	Helm Helm `yaml:"helm"`

	// Verify lists signature policies: a digest of an image a rule
	// matches is reported and written only when a signature satisfies it
	// (see pkg/verify). The first rule whose images match decides.
	Verify []VerifyRule `yaml:"verify"`

	// Path is the file this config came from ("" for defaults).
	Path string `yaml:"-"`
}

// Registry holds the settings of one registry.
type Registry struct {
	// Host receives the registry's requests instead (mirror, cache, test registry).
	Host string `yaml:"host"`
	// TLS is enabled (default), insecure (no verification) or disabled (plain HTTP).
	TLS string `yaml:"tls"`
}

// Pins tunes the diagnosis of existing pins.
type Pins struct {
	// Platform is "index" (default: a pin to one platform's manifest is
	// replaced by the index digest) or "keep" (refresh it to the same
	// platform's current manifest).
	Platform string `yaml:"platform"`
	// TagSearch bounds how many tags of a repository are inspected to find
	// which other tag a mismatched pin belongs to. 0 means the default; -1
	// turns the search off.
	TagSearch int `yaml:"tag-search"`
	// Composed is "report" (default: refs composed of variables whose
	// values the repository gives are resolved and reported) or "skip"
	// (they are skipped).
	Composed string `yaml:"composed"`
}

// pins.composed values.
const (
	ComposedReport = "report"
	ComposedSkip   = "skip"
)

// Helm tunes Helm values files.
type Helm struct {
	// DigestKeys are the keys that hold a chart's image digest.
	DigestKeys []string `yaml:"digest-keys"`
	// InlineDigest lets fix append @sha256:… to the tag value when the
	// chart has no digest key.
	InlineDigest bool `yaml:"inline-digest"`
}

// DefaultHelmDigestKeys are the digest keys charts use most.
var DefaultHelmDigestKeys = []string{"digest", "sha"}

// VerifyRule is one signature policy. A signature satisfies it when it
// verifies with one of Keys, or when it carries a certificate that
// Keyless accepts; with both set, either does.
type VerifyRule struct {
	// Images holds globs on normalised image names, as ignore does.
	Images []string `yaml:"images"`
	// Keys are cosign public key files (PEM), relative to the config file.
	Keys []string `yaml:"keys"`
	// Keyless accepts Fulcio-style certificates of one identity.
	Keyless Keyless `yaml:"keyless"`
	// TrustedRoot is a Sigstore trusted_root.json file, relative to the
	// config file; without it keyless rules use the public-good root
	// fetched through TUF.
	TrustedRoot string `yaml:"trusted-root"`
}

// Keyless is the certificate identity a keyless signature must carry.
type Keyless struct {
	// Issuer is the OIDC issuer the certificate names, exactly
	// (https://token.actions.githubusercontent.com).
	Issuer string `yaml:"issuer"`
	// IssuerRegexp is an RE2 regexp the issuer must match instead.
	IssuerRegexp string `yaml:"issuer-regexp"`
	// Identity is the certificate's subject alternative name as a glob:
	// '*' matches any run of characters, '/' included, '?' one character.
	Identity string `yaml:"identity"`
	// IdentityRegexp is an RE2 regexp the SAN must match instead.
	IdentityRegexp string `yaml:"identity-regexp"`
}

// Set reports whether the rule has a keyless part at all.
func (k Keyless) Set() bool { return k != Keyless{} }

// PullRequest configures the pull request `digestbot pr` keeps open.
type PullRequest struct {
	Branch        string   `yaml:"branch"`
	Title         string   `yaml:"title"`
	CommitMessage string   `yaml:"commit-message"`
	Labels        []string `yaml:"labels"`
	Reviewers     []string `yaml:"reviewers"`
	TeamReviewers []string `yaml:"team-reviewers"`
}

// Defaults.
const (
	DefaultBranch        = "digestbot/pin-digests"
	DefaultTitle         = "Pin container images to digests"
	DefaultCommitMessage = "Pin container images to digests"
	DefaultTagSearch     = 100
)

// Default returns the configuration used when no file exists.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	if c.Pins.Platform == "" {
		c.Pins.Platform = "index"
	}
	if c.Pins.Composed == "" {
		c.Pins.Composed = ComposedReport
	}
	if c.Helm.DigestKeys == nil {
		c.Helm.DigestKeys = append([]string(nil), DefaultHelmDigestKeys...)
	}
	if c.Pins.TagSearch == 0 {
		c.Pins.TagSearch = DefaultTagSearch
	}
	if c.PullRequest.Branch == "" {
		c.PullRequest.Branch = DefaultBranch
	}
	if c.PullRequest.Title == "" {
		c.PullRequest.Title = DefaultTitle
	}
	if c.PullRequest.CommitMessage == "" {
		c.PullRequest.CommitMessage = DefaultCommitMessage
	}
	for name, r := range c.Registries {
		if r.TLS == "" {
			r.TLS = TLSEnabled
			c.Registries[name] = r
		}
	}
}

// Load reads a config file. A missing file is an error; use Find to read
// the default file only when present.
//
// Only a regular file of at most MaxFileSize is read: a symlink to
// /dev/zero or a FIFO is refused, never read or waited on.
func Load(path string) (*Config, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	return load(f, path)
}

// MaxFileSize bounds a config file (real ones are well under 10 KiB).
const MaxFileSize = 1 << 20

// ErrNotRegular: the config is not a regular file (a FIFO, a device, a
// folder), or a repository's config leads outside the repository.
var ErrNotRegular = errors.New("not a regular file")

// LoadInRoot reads the config file name in dir, a repository's own config:
// unlike an explicit --config, it must stay inside dir (a symlink out of it
// is refused, and its target is never read nor shown), and be a regular
// file of bounded size.
func LoadInRoot(dir, name string) (*Config, error) {
	path := filepath.Join(dir, name)
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer r.Close()
	f, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if strings.Contains(err.Error(), "escapes from parent") {
			return nil, fmt.Errorf("read config: %s leads outside the repository; a repository's config must be a file inside it: %w", path, ErrNotRegular)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	return load(f, path)
}

func load(f *os.File, path string) (*Config, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("read config: %s: %w", path, ErrNotRegular)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("read config: %s is larger than %d KiB", path, MaxFileSize>>10)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// Find reads FileName in dir when present, else returns Default().
func Find(dir string) (*Config, error) {
	p := filepath.Join(dir, FileName)
	if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
		return Default(), nil
	}
	return Load(p)
}

// Parse decodes and validates config bytes.
func Parse(b []byte) (*Config, error) {
	c := &Config{}
	// Shape first, in the file's terms (explain.go); the decoder below
	// then only meets documents of the right shape.
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err == nil {
		if ps := explain(&doc); len(ps) > 0 {
			return nil, &Error{Problems: ps}
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		// yaml.v3 lists several problems on several lines; errors are one line.
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " ")
		return nil, fmt.Errorf("%w: %v", ErrInvalid, strings.ReplaceAll(msg, "errors:;", "errors:"))
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.applyDefaults()
	return c, nil
}

func (c *Config) validate() error {
	for _, g := range append(append([]string{}, c.Exclude...), c.Ignore...) {
		if err := ValidGlob(g); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	for name, r := range c.Registries {
		switch r.TLS {
		case "", TLSEnabled, TLSInsecure, TLSDisabled:
		default:
			return fmt.Errorf("%w: registries.%s.tls is %q; use enabled, insecure or disabled", ErrInvalid, name, r.TLS)
		}
		if name == "" || strings.ContainsAny(name, "/ ") {
			return fmt.Errorf("%w: registry name %q must be a host such as docker.io or registry.internal:5000", ErrInvalid, name)
		}
		if strings.Contains(r.Host, "@") {
			// A login written into the host: never echoed.
			return fmt.Errorf("%w: registries.%s.host holds a login (user:password@); give only host[:port]: credentials come from the Docker config", ErrInvalid, name)
		}
		if strings.ContainsAny(r.Host, "/ ") {
			return fmt.Errorf("%w: registries.%s.host is %q; give a host[:port] without a scheme or path", ErrInvalid, name, r.Host)
		}
	}
	for i, p := range c.Platforms {
		if err := checkPlatform(p); err != nil {
			return fmt.Errorf("%w: platforms[%d]: %v", ErrInvalid, i, err)
		}
	}
	switch c.Pins.Platform {
	case "", "index", "keep":
	default:
		return fmt.Errorf("%w: pins.platform is %q; use index or keep", ErrInvalid, c.Pins.Platform)
	}
	switch c.Pins.Composed {
	case "", ComposedReport, ComposedSkip:
	default:
		return fmt.Errorf("%w: pins.composed is %q; use report or skip", ErrInvalid, c.Pins.Composed)
	}
	if c.Helm.DigestKeys != nil && len(c.Helm.DigestKeys) == 0 {
		return fmt.Errorf("%w: helm.digest-keys is empty; list at least one key (default: %s)", ErrInvalid, strings.Join(DefaultHelmDigestKeys, ", "))
	}
	for _, k := range c.Helm.DigestKeys {
		if strings.TrimSpace(k) == "" || strings.ContainsAny(k, ".[]") {
			return fmt.Errorf("%w: helm.digest-keys holds %q; give plain key names such as digest or sha", ErrInvalid, k)
		}
	}
	for i, r := range c.Verify {
		if err := r.validate(); err != nil {
			return fmt.Errorf("%w: verify[%d]: %v", ErrInvalid, i, err)
		}
	}
	if c.Pins.TagSearch < -1 {
		return fmt.Errorf("%w: pins.tag-search is %d; use a positive bound, or -1 to turn the search off", ErrInvalid, c.Pins.TagSearch)
	}
	return nil
}

// Excluded reports whether a slash-separated path relative to the root
// matches an exclude glob. A glob matching a folder excludes what it holds.
func (c *Config) Excluded(rel string) bool {
	for _, g := range c.Exclude {
		if Match(g, rel) || Match(strings.TrimSuffix(g, "/")+"/**", rel) {
			return true
		}
	}
	return false
}

// Ignored reports whether a normalised image name (docker.io/library/nginx)
// matches an ignore glob. A glob without a registry also matches Docker Hub
// short forms, so "busybox" and "library/busybox" work as users expect.
func (c *Config) Ignored(image string) bool {
	for _, g := range c.Ignore {
		if MatchImage(g, image) {
			return true
		}
	}
	return false
}

// MatchImage reports whether a normalised image name matches an image
// glob, as ignore and verify read them: a glob without a registry also
// matches Docker Hub short forms ("busybox", "library/busybox").
func MatchImage(glob, image string) bool {
	return Match(glob, image) || Match("docker.io/"+glob, image) || Match("docker.io/library/"+glob, image)
}

// VerifyRuleFor returns the index of the first verify rule whose images
// match the normalised image name, or -1.
func (c *Config) VerifyRuleFor(image string) int {
	for i, r := range c.Verify {
		for _, g := range r.Images {
			if MatchImage(g, image) {
				return i
			}
		}
	}
	return -1
}

// Dir is the folder paths in the config are relative to: the config
// file's folder, or "." for defaults.
func (c *Config) Dir() string {
	if c.Path == "" {
		return "."
	}
	return filepath.Dir(c.Path)
}

func (r VerifyRule) validate() error {
	if len(r.Images) == 0 {
		return fmt.Errorf("images is empty; list the images the rule covers, e.g. images: [\"ghcr.io/acme/**\"]")
	}
	for _, g := range r.Images {
		if err := ValidGlob(g); err != nil {
			return err
		}
	}
	if len(r.Keys) == 0 && !r.Keyless.Set() {
		return fmt.Errorf("give keys (cosign public key files) or keyless (issuer and identity), or both")
	}
	for _, k := range r.Keys {
		if strings.TrimSpace(k) == "" {
			return fmt.Errorf("keys holds an empty file name")
		}
	}
	if r.TrustedRoot != "" && !r.Keyless.Set() {
		return fmt.Errorf("trusted-root is only used by keyless; remove it or add keyless")
	}
	if k := r.Keyless; k.Set() {
		switch {
		case k.Issuer == "" && k.IssuerRegexp == "":
			return fmt.Errorf("keyless needs issuer (the OIDC issuer, e.g. https://token.actions.githubusercontent.com) or issuer-regexp")
		case k.Issuer != "" && k.IssuerRegexp != "":
			return fmt.Errorf("keyless has both issuer and issuer-regexp; keep one")
		case k.Identity == "" && k.IdentityRegexp == "":
			return fmt.Errorf("keyless needs identity (the certificate SAN as a glob, e.g. https://github.com/ORG/REPO/.github/workflows/*) or identity-regexp")
		case k.Identity != "" && k.IdentityRegexp != "":
			return fmt.Errorf("keyless has both identity and identity-regexp; keep one")
		}
		for name, re := range map[string]string{"issuer-regexp": k.IssuerRegexp, "identity-regexp": k.IdentityRegexp} {
			if re == "" {
				continue
			}
			if _, err := regexp.Compile(re); err != nil {
				return fmt.Errorf("keyless.%s %q: %v", name, re, err)
			}
		}
	}
	return nil
}
