package resolve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	rcconfig "github.com/regclient/regclient/config"

	"github.com/digestbot/digestbot/pkg/imgref"
)

// Credentials, and where they may go.
//
// digestbot reads the Docker config itself instead of through regclient's
// config.DockerLoad, because DockerLoad runs credential helpers (`list` for
// a credsStore at load time, `get` on first use) with no deadline and no
// cap on their output: a helper that never exits hangs the run. Here every
// helper runs through runHelper — with a context, a timeout and capped
// output — and only for hosts a run actually contacts.
//
// Every credential is bound to the host it was configured for. A registry
// that the config maps to another host (`registries.<name>.host`) is sent
// only the credentials configured for that other host, never the name's:
// a repository's config must not be able to send the Docker Hub password
// or the workflow token to a host of its choosing.

const (
	// maxDockerConfig bounds the Docker config read (real ones are a few KiB).
	maxDockerConfig = 1 << 20
	// maxHelperOutput bounds what a credential helper may print.
	maxHelperOutput = 64 << 10
	// helperWaitDelay bounds how long a killed helper's pipes are waited
	// for (a grandchild may hold them open).
	helperWaitDelay = 500 * time.Millisecond
	// dockerHelperPrefix names credential helper programs.
	dockerHelperPrefix = "docker-credential-"
	// helperTokenUser is what helpers answer as user name for an identity token.
	helperTokenUser = "<token>"
)

// cred is one credential.
type cred struct {
	user, pass, token string
}

func (c cred) empty() bool { return c.user == "" && c.pass == "" && c.token == "" }

// dockerCreds is what the Docker config of the machine says, keyed by
// normalised registry host (docker.io for Docker Hub's names).
type dockerCreds struct {
	static  map[string]cred   // auths entries with a credential
	helpers map[string]string // credHelpers: host → helper program
	store   string            // credsStore program, "" for none
}

func newDockerCreds() *dockerCreds {
	return &dockerCreds{static: map[string]cred{}, helpers: map[string]string{}}
}

// dockerConfigFile is the part of config.json digestbot reads.
type dockerConfigFile struct {
	Auths map[string]struct {
		Auth          string `json:"auth"`
		Username      string `json:"username"`
		Password      string `json:"password"` //#nosec G117 -- read, never printed
		IdentityToken string `json:"identitytoken"`
	} `json:"auths"`
	CredHelpers map[string]string `json:"credHelpers"`
	CredsStore  string            `json:"credsStore"`
}

// loadDockerCreds reads dir/config.json ($DOCKER_CONFIG or ~/.docker when
// dir is nil, then $DOCKER_AUTH_CONFIG too). A missing file is no error.
func loadDockerCreds(dir *string) (*dockerCreds, error) {
	dc := newDockerCreds()
	var errs []error
	path := ""
	switch {
	case dir != nil && *dir == "":
		return dc, nil
	case dir != nil:
		path = filepath.Join(*dir, "config.json")
	case os.Getenv("DOCKER_CONFIG") != "":
		path = filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json")
	default:
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, ".docker", "config.json")
		}
	}
	if path != "" {
		b, err := readBounded(path, maxDockerConfig)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		default:
			if err := dc.parse(b); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", path, err))
			}
		}
	}
	if dir == nil {
		if env := os.Getenv("DOCKER_AUTH_CONFIG"); env != "" {
			if len(env) > maxDockerConfig {
				errs = append(errs, errors.New("DOCKER_AUTH_CONFIG is too large"))
			} else if err := dc.parse([]byte(env)); err != nil {
				errs = append(errs, fmt.Errorf("DOCKER_AUTH_CONFIG: %w", err))
			}
		}
	}
	return dc, errors.Join(errs...)
}

// readBounded reads a regular file of at most max bytes. It never blocks on
// a FIFO and never reads a device.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d KiB", path, max>>10)
	}
	return b, nil
}

func (dc *dockerCreds) parse(b []byte) error {
	var f dockerConfigFile
	if err := json.Unmarshal(b, &f); err != nil {
		// The JSON error names an offset, never the content.
		return errors.New("not valid JSON")
	}
	for name, a := range f.Auths {
		host, ok := credHostName(name)
		if !ok {
			continue
		}
		c := cred{user: a.Username, pass: a.Password, token: a.IdentityToken}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				continue
			}
			u, p, ok := strings.Cut(string(raw), ":")
			if !ok {
				continue
			}
			c.user, c.pass = u, strings.Trim(p, "\x00")
		}
		if (c.user == "" || c.pass == "") && c.token == "" {
			continue
		}
		dc.static[host] = c
	}
	for name, helper := range f.CredHelpers {
		host, ok := credHostName(name)
		if !ok || !validHelperName(helper) {
			continue
		}
		dc.helpers[host] = dockerHelperPrefix + helper
	}
	if f.CredsStore != "" && validHelperName(f.CredsStore) {
		dc.store = dockerHelperPrefix + f.CredsStore
	}
	return nil
}

// validHelperName refuses helper names that would run something other than
// a docker-credential-<name> program found on PATH.
func validHelperName(s string) bool {
	return s != "" && !strings.ContainsAny(s, `/\`) && s != "." && s != ".."
}

// credHostName normalises a Docker config key ("https://index.docker.io/v1/",
// "http://host:5000", "host:5000") to the registry host it is bound to.
func credHostName(name string) (string, bool) {
	if !rcconfig.HostValidate(name) {
		return "", false
	}
	h := rcconfig.HostNewName(name)
	if h.Name == "" {
		return "", false
	}
	return normRegistry(h.Name), true
}

// helperFor names the credential helper Docker would ask about host, and
// whether a static credential wins instead. Like docker: credHelpers first;
// then an auths credential; then the credsStore.
func (dc *dockerCreds) helperFor(host string) string {
	if p := dc.helpers[host]; p != "" {
		return p
	}
	if _, ok := dc.static[host]; ok {
		return ""
	}
	return dc.store
}

// helperAddress is what a helper is asked about: Docker Hub under its
// historical key, other registries by host.
func helperAddress(host string) string {
	if host == imgref.DefaultRegistry {
		return rcconfig.DockerRegistryAuth
	}
	return host
}

// errHelper wraps every credential helper failure.
var errHelper = errors.New("credential helper failed")

// runHelper asks a credential helper for the credential of address, within
// timeout, reading at most maxHelperOutput bytes. A helper that has none
// (exit status 1, "credentials not found") yields an empty cred and no
// error. Its stderr is discarded: helpers may print secrets there.
func runHelper(ctx context.Context, prog, address string, timeout time.Duration) (cred, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	//#nosec G204 -- prog is docker-credential-<name> from the machine's own Docker config
	cmd := exec.CommandContext(ctx, prog, "get")
	cmd.Stdin = strings.NewReader(address)
	// Past the cap the helper is killed at once (cancel), not at its deadline.
	out := &cappedBuffer{max: maxHelperOutput, onOver: cancel}
	cmd.Stdout = out
	cmd.Stderr = io.Discard
	cmd.WaitDelay = helperWaitDelay
	setHelperProcAttrs(cmd)
	err := cmd.Run()
	switch {
	case out.over:
		return cred{}, fmt.Errorf("%w: %s printed more than %d KiB", errHelper, prog, maxHelperOutput>>10)
	case ctx.Err() != nil:
		return cred{}, fmt.Errorf("%w: %s did not answer within %s", errHelper, prog, timeout)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(strings.ToLower(out.String()), "credentials not found") {
			return cred{}, nil
		}
		if errors.As(err, &ee) {
			// Helpers exit 1 for hosts they hold nothing for.
			return cred{}, nil
		}
		return cred{}, fmt.Errorf("%w: %s could not run (%s)", errHelper, prog, shortErr(err))
	}
	var a struct {
		Username string `json:"Username"`
		Secret   string `json:"Secret"` //#nosec G117 -- read, never printed
	}
	if json.Unmarshal(bytes.TrimSpace(out.Bytes()), &a) != nil {
		return cred{}, fmt.Errorf("%w: %s answered something that is not a credential", errHelper, prog)
	}
	if a.Username == helperTokenUser {
		return cred{token: a.Secret}, nil
	}
	return cred{user: a.Username, pass: a.Secret}, nil
}

// shortErr keeps the innermost part of an exec error ("executable file not
// found in $PATH").
func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// cappedBuffer keeps the first max bytes written, remembers overflow and
// calls onOver once when it happens.
//
// The buffer is a field, not embedded: an embedded bytes.Buffer would give
// cappedBuffer a ReadFrom method, which io.Copy (and so os/exec) would use
// instead of Write, bypassing the cap.
type cappedBuffer struct {
	buf    bytes.Buffer
	max    int
	over   bool
	onOver func()
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room < len(p) {
		if !c.over && c.onOver != nil {
			c.onOver()
		}
		c.over = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}

func (c *cappedBuffer) Bytes() []byte  { return c.buf.Bytes() }
func (c *cappedBuffer) String() string { return c.buf.String() }

// helperCreds memoises what helpers answered, per contacted host, for the
// life of a Resolver.
type helperCreds struct {
	mu    sync.Mutex
	done  map[string]bool
	creds map[string]cred
	warns map[string]string
}

func newHelperCreds() *helperCreds {
	return &helperCreds{done: map[string]bool{}, creds: map[string]cred{}, warns: map[string]string{}}
}
