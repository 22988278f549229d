# Multi-stage: build a release binary, run it on debian-slim as a non-root user.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin wxcampaign

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /app wxcampaign
WORKDIR /app
COPY --from=build /src/target/release/wxcampaign /usr/local/bin/wxcampaign
COPY config ./config
RUN mkdir -p /app/data && chown wxcampaign /app/data
USER wxcampaign
ENV APP_ENVIRONMENT=production \
    APP_CONFIG_DIR=/app/config
EXPOSE 8080
ENTRYPOINT ["wxcampaign"]
CMD ["serve"]
