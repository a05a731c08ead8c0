# relink in a container: a build stage with the Rust toolchain, then a slim runtime image that
# holds only the binary and the CA certificates, running as an unprivileged user with its data
# (the SQLite database and the key file) on the /data volume.
#
#   docker build -t relink .
#   docker run -p 8080:8080 -v relink-data:/data relink
#
# The build stage runs the README's build command (section "Container"); a test keeps the two
# the same.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin relink

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 relink \
    && useradd --system --uid 10001 --gid relink --home-dir /data --shell /usr/sbin/nologin relink \
    && mkdir -p /data \
    && chown relink:relink /data \
    && chmod 700 /data
COPY --from=build /src/target/release/relink /usr/local/bin/relink

# The embedded database and the key file live in /data unless RELINK_DATABASE_URL names a
# PostgreSQL server; back up both together (`relink backup`).
ENV RELINK_DATA_DIR=/data \
    RELINK_WEB__BIND=0.0.0.0:8080
VOLUME ["/data"]
WORKDIR /data
USER relink:relink
EXPOSE 8080

# The runtime image has no curl: relink asks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["relink", "healthcheck"]

ENTRYPOINT ["relink"]
CMD ["serve"]
