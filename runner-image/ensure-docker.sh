#!/usr/bin/env bash
# Makes sure a Docker engine answers. As root on Debian/Ubuntu it installs docker.io and starts
# dockerd in the background when needed; anywhere else it stops with instructions. Never continues without one.
set -euo pipefail
log=${PADBOX_DOCKERD_LOG:-/var/log/padbox-dockerd.log}

answers() { timeout 10 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  exit 0
fi

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

if ! command -v dockerd >/dev/null 2>&1; then
  if ! can_install; then
    echo "error: no Docker engine answers and this is not root on Debian/Ubuntu." >&2
    echo "Install Docker (https://docs.docker.com/engine/install/), start it, and make sure 'docker info' works for this user." >&2
    exit 1
  fi
  echo "installing docker.io with apt-get ..."
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
fi

if [ "$(id -u)" != 0 ]; then
  echo "error: dockerd is installed but not running; start it (e.g. 'sudo systemctl start docker')." >&2
  exit 1
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "starting dockerd in the background (log: $log) ..."
  # setsid: the engine must outlive the make process that started it.
  setsid nohup dockerd >"$log" 2>&1 </dev/null &
fi
for _ in $(seq 1 60); do
  if answers; then
    echo "Docker engine is up"
    exit 0
  fi
  sleep 1
done
echo "error: dockerd did not answer within 60 s; see $log" >&2
exit 1
