# syntax=docker/dockerfile:1
# Build: a static binary, templates and configs embedded.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/migratebot ./cmd/migratebot

# Run: no shell, no package manager, CA certificates included, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/migratebot /migratebot
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/migratebot"]
CMD ["serve", "--config", "/etc/migratebot/config.yaml"]
