# The padbox server in a container (the sandboxes are not made from this image: they come from
# padbox-runner:latest, built on the host with `make image`).
#
# SECURITY: the server starts every sandbox through the host's Docker engine, so it runs with the
# host's Docker socket mounted. Whoever controls a process that can talk to that socket controls
# the host (it can start a privileged container). Run padbox on a host or VM dedicated to it, keep
# the socket away from anything else in this container, and see "Deployment" in the README.
#
#   docker build -t padbox .        (run `make static` first to include the web pad)
#   docker compose up -d            (see docker-compose.yml)
FROM debian:bookworm-slim

# Behind a TLS-inspecting proxy, give the build its CA: --build-arg EXTRA_CA_CERT="$(cat proxy-ca.crt)"
ARG EXTRA_CA_CERT=""
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && if [ -n "$EXTRA_CA_CERT" ]; then \
      printf '%s\n' "$EXTRA_CA_CERT" > /usr/local/share/ca-certificates/extra-ca.crt && update-ca-certificates; \
    fi

# The Python dependencies, read from pyproject.toml so they are declared in one place; their own layer, so a
# change to padbox's code does not reinstall them.
COPY pyproject.toml /tmp/padbox/
RUN python3 -m venv /opt/venv \
 && python3 -c 'import tomllib; print("\n".join(tomllib.load(open("/tmp/padbox/pyproject.toml", "rb"))["project"]["dependencies"]))' \
      > /tmp/requirements.txt \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
      --cert /etc/ssl/certs/ca-certificates.crt -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# padbox itself, built into a wheel and installed like any package, so it runs without a checkout. The wheel
# carries the language manifest (server/padbox/languages.toml links to runner-image/languages.toml) and the web pad
# (its bundle when `make static` ran first, else a placeholder page) as package data. .dockerignore keeps
# everything else out of the build.
COPY README.md /tmp/padbox/
COPY server/ /tmp/padbox/server/
COPY runner-image/agent/padbox_agent/ /tmp/padbox/runner-image/agent/padbox_agent/
COPY runner-image/languages.toml /tmp/padbox/runner-image/languages.toml
RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps \
      --cert /etc/ssl/certs/ca-certificates.crt /tmp/padbox \
 && rm -rf /tmp/padbox

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin padbox
USER padbox

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000
EXPOSE 8000

# Docker's health status follows readiness: Docker answers, the runner image is present, not draining.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/readyz', timeout=4)"]

# SIGTERM: running sessions are told, their containers removed, then the process exits.
STOPSIGNAL SIGTERM
CMD ["padbox", "serve"]
