# Tandem in a container: one static binary on a distroless base, run as a
# non-root user, its state on a volume. docs/operations.md says how to run
# a region, a traffic manager and a control node from it; deploy/ has the
# tests that keep this file true (go test ./deploy/...).
#
#   docker build -t tandem .
#   docker run --rm tandem version

# The Go of go.mod's "go" line (deploy/ checks they agree).
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo, so no libc to find at run time), reproducible paths. The
# build context has no .git (.dockerignore), so the revision comes from
# --build-arg REVISION=$(git rev-parse HEAD) when given.
ARG REVISION=""
ENV CGO_ENABLED=0
RUN go build -trimpath -buildvcs=false -ldflags="-s -w -X main.buildRevision=${REVISION}" -o /out/tandem ./cmd/tandem
# The data directory, owned by the user the final stage runs as, so a new
# named volume mounted there starts with that owner.
RUN mkdir -p /out/data && chown 65532:65532 /out/data && chmod 0700 /out/data

# distroless/static: CA certificates, time zones and /etc/passwd (user
# nonroot = 65532), nothing else: no shell, no libc.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tandem /usr/local/bin/tandem
COPY --from=build --chown=65532:65532 /out/data /var/lib/tandem
USER 65532:65532
WORKDIR /var/lib/tandem
VOLUME ["/var/lib/tandem"]
# 7071 a region's gateway and admin API (or a traffic manager's proxy),
# 7070 a traffic manager's admin API and status page, 5353 its DNS,
# 7422 a region's leafnode, 4222 and 6222 a control node's client and
# cluster ports. Which of them a container uses depends on its command.
EXPOSE 7071 7070 5353/tcp 5353/udp 7422 4222 6222
# SIGTERM makes every daemon drain and stop; give a region more than its
# 30 s shutdown budget: docker run --stop-timeout 45, or compose's
# stop_grace_period: 45s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tandem"]
CMD ["region", "--name", "local", "--data", "/var/lib/tandem", "--http", "0.0.0.0:7071"]
