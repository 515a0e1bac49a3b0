# syntax=docker/dockerfile:1
# bbauth backend: the REST API and the Socket.IO channel under Hypercorn (several workers).
# Build from the repository root: docker build -f deploy/backend.Dockerfile .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --home-dir /var/lib/bbauth --shell /usr/sbin/nologin bbauth \
    && mkdir -p /var/lib/bbauth \
    && chown bbauth:bbauth /var/lib/bbauth

# Install the package (app, realtime, models, db with its migrations); the sources go after.
WORKDIR /tmp/bbauth-src
COPY pyproject.toml README.md ./
COPY app ./app
COPY db ./db
COPY models ./models
COPY realtime ./realtime
RUN pip install . && rm -rf /tmp/bbauth-src

WORKDIR /srv/bbauth
COPY deploy/elasticsearch/index-template.json ./deploy/elasticsearch/index-template.json
COPY deploy/backend-entrypoint.sh /usr/local/bin/bbauth-entrypoint
RUN chmod 0755 /usr/local/bin/bbauth-entrypoint

# The model store, the outbox and (without BBAUTH_DATABASE_URL) SQLite live under the var dir.
ENV BBAUTH_ENV=production \
    BBAUTH_HOST=0.0.0.0 \
    BBAUTH_PORT=5001 \
    BBAUTH_VAR_DIR=/var/lib/bbauth \
    BBAUTH_ELASTICSEARCH_TEMPLATE=/srv/bbauth/deploy/elasticsearch/index-template.json

USER bbauth
EXPOSE 5001
VOLUME ["/var/lib/bbauth"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5001/healthz', timeout=3)"]
ENTRYPOINT ["bbauth-entrypoint"]
CMD ["bbauth", "serve"]
