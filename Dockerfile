# rccd (and rccctl) in a minimal image: static binaries built with CGO off
# (SQLite is pure Go), on distroless's static base, running as its
# non-root user (65532). The "tools" target is the same binaries on
# busybox, for one-shot set-up steps that need a shell (docker-compose.yml
# makes certificates and tokens with it).
#
#   docker build -t rcc .                 # the runtime image
#   docker build -t rcc-tools --target tools .

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
# wazero, patched (third_party/wazero/PATCHES.md), is a replaced module.
COPY third_party/ third_party/
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/rcc-games/rcc/pkg/buildinfo.version=${VERSION} -X github.com/rcc-games/rcc/pkg/buildinfo.commit=${COMMIT}" \
      -o /out/ ./cmd/rccd ./cmd/rccctl \
 && mkdir -p /rootfs/etc/rcc /rootfs/var/lib/rcc

FROM busybox:1.36-musl AS tools
COPY --from=build /out/rccd /out/rccctl /usr/local/bin/
COPY --from=build --chown=65532:65532 /rootfs/ /
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/rccd"]

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rccd /out/rccctl /usr/local/bin/
COPY --from=build --chown=65532:65532 /rootfs/ /
USER 65532:65532
# gRPC (coordinator), players' wss:// (executor), /metrics and /healthz.
EXPOSE 7400 7450 9090 9091
ENTRYPOINT ["/usr/local/bin/rccd"]
