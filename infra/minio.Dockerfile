# MinIO built from the same pinned source `sluice cluster up` builds and the cluster tests run
# (infra/cluster/go-build.ts: MINIO.version), since MinIO no longer publishes community images.
# Build from the repository root: docker build -f infra/minio.Dockerfile -t sluice-minio .
FROM golang:1.26-bookworm AS build
RUN GOBIN=/out CGO_ENABLED=0 go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /data minio && mkdir /data && chown minio /data
COPY --from=build /out/minio /usr/local/bin/minio
USER minio
VOLUME ["/data"]
EXPOSE 9000 9001
ENTRYPOINT ["minio"]
CMD ["server", "/data", "--address", ":9000", "--console-address", ":9001"]
