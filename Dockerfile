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

WORKDIR /opt/padbox

# The Python dependencies, read from pyproject.toml so they are declared in one place.
COPY pyproject.toml ./
RUN python3 -m venv /opt/venv \
 && python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
      > /tmp/requirements.txt \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
      --cert /etc/ssl/certs/ca-certificates.crt -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The server, the language manifest, and the web pad (its bundle in static/dist when it was built;
# otherwise a placeholder page). .dockerignore keeps everything else out.
COPY server/ server/
COPY runner-image/agent/ runner-image/agent/
COPY runner-image/languages.toml runner-image/languages.toml
COPY static/ static/

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
CMD ["python", "-m", "padbox"]
