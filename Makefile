# The test command the README documents and .ci/run runs.
.DEFAULT_GOAL := test
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test vet unit staticcheck fuzz bench build

# The version digestbot prints (digestbot --version, SARIF, User-Agent):
# the git tag or commit, set through -ldflags as releases do.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
VERSION_VAR := github.com/digestbot/digestbot/internal/cli.Version

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-X $(VERSION_VAR)=$(VERSION)" -o bin/digestbot ./cmd/digestbot

# unit runs last: its summary ends with the line CI reads,
# "N passed, N failed, N skipped".
test: vet staticcheck unit

# pipefail: the summary's pipe keeps go test's exit code.
SHELL := bash

vet:
	go vet ./...
	# digestbot runs on laptops too: keep other systems building.
	GOOS=darwin go vet ./...
	GOOS=windows go vet ./...

# go test -json through a small summariser (internal/tools/testsummary):
# failing tests' output, each package's result, why tests were skipped (no
# real registry, no ../shared, …), then the count line.
unit:
	set -o pipefail; go test -json -race -shuffle=on -timeout 20m ./... | go run ./internal/tools/testsummary

staticcheck:
	go run $(STATICCHECK) ./...

# Every fuzz target for FUZZTIME each, one after another. Targets are found
# at run time (go test -list), so new ones are included without editing
# this file. Each package's corpus lives in its testdata/fuzz/<Target>
# (Go's default): seeds there also run as plain tests in `make unit`, and a
# failure found here is written there, to be committed with its fix.
#
# Go 1.26's fuzz coordinator can fail a target that found nothing with a
# bare "context deadline exceeded" as FUZZTIME ends (golang/go#75804, fixed
# in Go 1.27): such a run, which wrote no failing input, is run again, up
# to twice. Any other failure, or one that wrote an input, fails at once.
FUZZTIME ?= 10s

fuzz:
	@set -e; \
	targets=$$(go test -list '^Fuzz' ./... | awk '/^Fuzz/ { n[++c] = $$1; next } /^ok / { for (i = 1; i <= c; i++) print $$2 "=" n[i]; c = 0 }'); \
	[ -n "$$targets" ] || { echo "no fuzz targets found"; exit 1; }; \
	log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	for t in $$targets; do \
		pkg=$${t%%=*}; name=$${t#*=}; \
		for try in 1 2 3; do \
			echo "== fuzz $$name ($$pkg) for $(FUZZTIME)"; \
			if go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg > "$$log" 2>&1; then cat "$$log"; break; fi; \
			cat "$$log"; \
			if [ $$try -lt 3 ] && grep -q 'context deadline exceeded' "$$log" && ! grep -q 'Failing input written to' "$$log"; then \
				echo "== $$name: Go's fuzz coordinator ended the run with its own deadline and no failing input (golang/go#75804): running it again"; \
				continue; \
			fi; \
			exit 1; \
		done; \
	done

# The end-to-end benchmark on a synthetic monorepo (README, Performance; the
# whole matrix: bench/matrix.sh). BENCH_FLAGS picks the shape, e.g.
#   make bench BENCH_FLAGS='-files 100000 -imagefiles 5000 -tags 500 -perfolder 16 -latency 20ms'
BENCH_FLAGS ?= -files 100000 -imagefiles 5000 -tags 500 -perfolder 16 -runs 3

bench:
	go run ./bench $(BENCH_FLAGS)
