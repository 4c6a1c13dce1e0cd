# digestbot's own image: a static binary on an empty base.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t digestbot .
#   docker run --rm -v "$PWD:/work" digestbot check
#
# The builder is golang:1.26 by tag: it could not be pinned by digest where
# this file was written (no registry access). Pin it the way digestbot pins
# everything — `digestbot fix Dockerfile` — and keep it fresh with the
# Action; until then `digestbot check` reports it unpinned, on purpose.
# The final stage is `scratch`, which has no digest to pin.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/digestbot/digestbot/internal/cli.Version=${VERSION}" \
      -o /out/digestbot ./cmd/digestbot \
 && /out/digestbot --version

FROM scratch
# Registries are reached over TLS: the builder's CA bundle (Debian's).
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/digestbot /usr/local/bin/digestbot
# Credentials: mount a Docker config and point DOCKER_CONFIG at it, e.g.
#   -v ~/.docker:/docker:ro -e DOCKER_CONFIG=/docker
ENV DOCKER_CONFIG=/docker
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/digestbot"]
CMD ["check"]
