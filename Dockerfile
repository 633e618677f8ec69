# Communique in a container: `docker compose up -d` (compose.yaml) runs `communique run` with .env and ./data;
# `docker compose run --rm communique init /data/config` (or login, backup PATH ...) runs another subcommand.
# The store, the Telethon session and your configuration (./config/communique.toml under /data) live on the
# /data volume; the image holds only the installed package, and runs as an unprivileged user (uid 1000).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    COMMUNIQUE_DB=/data/communique.db

RUN useradd --create-home --uid 1000 communique && mkdir /data && chown communique:communique /data

COPY . /src
RUN pip install --no-cache-dir /src && rm -rf /src

USER communique
WORKDIR /data
VOLUME /data

# Healthy while the bot delivers from the store: `communique health` opens it read-only (exit 0, else 2).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["communique", "health"]
ENTRYPOINT ["communique"]
CMD ["run"]
