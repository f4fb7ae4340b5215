# syntax=docker/dockerfile:1
# Build: a static binary, templates, manifests and configs embedded. The build
# stage runs on the builder's own platform and cross-compiles, so a
# multi-platform build (--platform linux/amd64,linux/arm64) needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
# Set by BuildKit from --platform (empty: the builder's own).
ARG TARGETOS TARGETARCH
# .git is not in the build context (.dockerignore), so there is nothing for
# the Go tool to stamp: -buildvcs=false says so instead of guessing.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/migratebot ./cmd/migratebot

# Run: no shell, no package manager, CA certificates included (distroless
# static has them; zoneinfo is compiled into the binary). The user is numeric
# so that Kubernetes' runAsNonRoot can check it: 65532 is distroless' nonroot.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/migratebot /migratebot
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/migratebot"]
CMD ["serve", "--config", "/etc/migratebot/config.yaml"]
