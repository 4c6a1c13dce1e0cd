# The test command the README documents and .ci/run runs.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test vet unit staticcheck fuzz bench

test: vet unit staticcheck

vet:
	go vet ./...

unit:
	go test -race -shuffle=on -timeout 20m ./...

staticcheck:
	go run $(STATICCHECK) ./...
