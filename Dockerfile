# The cloud-worker image.
#   docker build -t cloud-worker .
# Build stage: the official Swift image (Debian bookworm) with the worker's C libraries'
# headers; the worker is linked with the Swift runtime and Foundation built in.
# Runtime stage: Debian bookworm slim with only the shared libraries the binary loads, run as a
# numeric non-root user (Kubernetes can then check runAsNonRoot without a passwd entry).
# Swift is 6.x; pass --build-arg SWIFT_IMAGE=swift:<version>-bookworm to pick another.
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build

# Versions are Debian bookworm's, fixed by the base image's release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        librabbitmq-dev libcurl4-openssl-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, so that a source change does not fetch them again (Package.resolved,
# when there is one, pins them).
COPY Package.swift Package.resolve[d] ./
RUN swift package resolve

COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product cloud-worker \
    && mkdir -p /staging \
    && cp "$(swift build -c release --show-bin-path)/cloud-worker" /staging/ \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /staging/

# ---------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}

LABEL org.opencontainers.image.title="cloud-worker" \
      org.opencontainers.image.description="Turns RabbitMQ requests into Kubernetes Jobs, archives their logs to S3 and replies." \
      org.opencontainers.image.licenses="Apache-2.0"

# librabbitmq4 (AMQP), libcurl4 (HTTP for S3 and the API server), libssl3 (libcrypto for
# SigV4), ca-certificates (TLS to S3, amqps and the API server).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librabbitmq4 libcurl4 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /staging/cloud-worker /usr/local/bin/cloud-worker
COPY --from=build /staging/swift-backtrace-static /usr/local/libexec/swift-backtrace-static

# Readable crash reports in the pod's log, without an interactive debugger.
ENV SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/usr/local/libexec/swift-backtrace-static

USER 65532:65532

# Status server: /healthz, /readyz, /metrics, /api/jobs.
EXPOSE 8080

ENTRYPOINT ["/usr/local/bin/cloud-worker"]
