#!/usr/bin/env bash
# Makes the Debian base image the runner image builds FROM, when no registry can supply it.
# Usage: make-base.sh IMAGE_NAME   (e.g. debian:bookworm-slim)
# Tries `docker pull` first; falls back to debootstrap + docker import (about 40 s).
set -euo pipefail
name=${1:-debian:bookworm-slim}
suite=${PADBOX_BASE_SUITE:-bookworm}
mirror=${PADBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$name" >/dev/null 2>&1; then
  exit 0
fi
if timeout 60 docker pull "$name" >/dev/null 2>&1; then
  echo "pulled $name"
  exit 0
fi
echo "cannot pull $name; building it with debootstrap ($suite from $mirror)" >&2
if ! command -v debootstrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
  else
    echo "error: debootstrap is missing; install it (apt-get install debootstrap) or make $name available" >&2
    exit 1
  fi
fi
root=$(mktemp -d /tmp/padbox-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase "$suite" "$root" "$mirror" >/tmp/padbox-debootstrap.log 2>&1 || {
  echo "error: debootstrap failed, see /tmp/padbox-debootstrap.log" >&2; exit 1; }
# Slim it the way the official -slim images are: no apt lists, no docs.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | docker import - "$name" >/dev/null
echo "imported $name from debootstrap"
