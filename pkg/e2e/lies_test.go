package e2e

import (
	"strings"
	"testing"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
)

// TestLiesCostOnlyWhenPinsDiffer: pins that match their tag cost one HEAD
// per unique tag and nothing more; each kind of lie costs what the
// package documentation of pkg/diagnose says.
func TestLiesCostOnlyWhenPinsDiffer(t *testing.T) {
	t.Parallel()
	testregistry.Both(t, func(t *testing.T, newRegistry func(testing.TB, ...testregistry.Opt) *testregistry.Registry) {
		reg := newRegistry(t)
		w := newWorld(t, reg)
		for _, l := range []string{"index library/ubuntu:16.04", "index library/ubuntu:20.04", "index library/node:20", "index library/alpine:3.20"} {
			w.push(l)
		}
		w.write(map[string]string{
			".digestbot.yaml": defaultConfig,
			"Dockerfile":      "FROM ubuntu:20.04@<ubuntu:20.04>\nFROM node:20@<node:20>\nFROM alpine:3.20\nFROM node:20@<node:20>\n",
		})
		reg.ResetCounts()
		w.mustRun(1, "check", "$ROOT")
		c := reg.Counts()
		if c.Gets() != 0 || len(c.TagsList) != 0 || c.Blobs != 0 || c.Manifests() != 3 {
			t.Errorf("matching pins: %d GETs, %d tag lists, %d blob requests, %d manifest requests; want 0, 0, 0, 3 (one HEAD per tag)",
				c.Gets(), len(c.TagsList), c.Blobs, c.Manifests())
		}

		// A platform pin: one HEAD of the pin and one GET of the index on top.
		w.write(map[string]string{"Dockerfile": "FROM node:20@<node:20 linux/arm64/v8>\n"})
		reg.ResetCounts()
		out, _ := w.mustRun(1, "check", "$ROOT")
		if !strings.Contains(out, "platform  node:20@<node:20 linux/arm64/v8>  pinned to the linux/arm64 image") {
			t.Errorf("check:\n%s", out)
		}
		c = reg.Counts()
		if c.Gets() != 1 || c.Manifests() != 3 || len(c.TagsList) != 0 {
			t.Errorf("platform pin: %d GETs, %d manifest requests, %d tag lists; want 1, 3 (HEAD tag, HEAD pin, GET index), 0", c.Gets(), c.Manifests(), len(c.TagsList))
		}

		// The classic lie: the tag search lists tags once and HEADs the other one.
		w.write(map[string]string{"Dockerfile": "FROM ubuntu:20.04@<ubuntu:16.04>\nFROM ubuntu:20.04@<ubuntu:16.04> AS again\n"})
		reg.ResetCounts()
		out, _ = w.mustRun(1, "check", "$ROOT")
		if strings.Count(out, "ubuntu:20.04 is pinned to the digest of ubuntu:16.04") != 2 {
			t.Errorf("check:\n%s", out)
		}
		c = reg.Counts()
		if c.TagsList["library/ubuntu"] != 1 || c.ManifestHead["library/ubuntu:16.04"] != 1 {
			t.Errorf("mismatch: tag lists %v, HEADs %v; want one list and one HEAD of 16.04", c.TagsList, c.ManifestHead)
		}
	})
}
