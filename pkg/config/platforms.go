package config

import (
	"fmt"
	"strings"
)

// Platforms as registries label them in an index (GOOS/GOARCH values, as
// the OCI image spec uses them). A required platform outside these lists
// is a typo that would otherwise fail every tag quietly.
var (
	knownOS = []string{"aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js",
		"linux", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows"}
	knownArch = []string{"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le",
		"mipsle", "ppc64", "ppc64le", "riscv64", "s390x", "wasm"}
	// Names uname and other tools use for the same architectures.
	archAliases = map[string]string{"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64",
		"armhf": "arm/v7", "armel": "arm/v6", "i386": "386", "i686": "386"}
)

// checkPlatform validates one platforms: entry, os/arch[/variant].
func checkPlatform(p string) error {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
		return fmt.Errorf("%q is not os/arch[/variant]; write e.g. linux/amd64 or linux/arm64/v8", p)
	}
	if !contains(knownOS, parts[0]) {
		msg := fmt.Sprintf("unknown OS %q in %q", parts[0], p)
		if s := Nearest(parts[0], knownOS); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
		return fmt.Errorf("%s (OS names are lower-case GOOS values: linux, windows, …)", msg)
	}
	if !contains(knownArch, parts[1]) {
		msg := fmt.Sprintf("unknown architecture %q in %q", parts[1], p)
		if a, ok := archAliases[strings.ToLower(parts[1])]; ok {
			msg += fmt.Sprintf("; registries call it %s/%s", parts[0], a)
		} else if s := Nearest(parts[1], knownArch); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
		return fmt.Errorf("%s (architectures are GOARCH values: amd64, arm64, arm, …)", msg)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
