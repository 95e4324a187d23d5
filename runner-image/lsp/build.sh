#!/usr/bin/env bash
# Builds padbox-lsp:latest (the language servers of pads' language help) when runner-image/lsp/ changed since the
# image was built: the image carries a hash of its build context in the label padbox.source-hash, as
# padbox-runner:latest does (runner-image/build.sh, which leaves this folder out).
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${PADBOX_LSP_IMAGE:-padbox-lsp:latest}
base=${PADBOX_BASE_IMAGE:-debian:bookworm-slim}

ctx=$(mktemp -d /tmp/padbox-lsp-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp -r runner-image/lsp/. "$ctx/"
find "$ctx" \( -name __pycache__ -o -name node_modules \) -prune -exec rm -rf {} +

hash=$( { echo "$base"; cd "$ctx" && find . -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)

current=$(docker image inspect -f '{{ index .Config.Labels "padbox.source-hash" }}' "$image" 2>/dev/null || true)
if [ "$current" = "$hash" ] && [ -z "${PADBOX_FORCE_BUILD:-}" ]; then
  echo "$image is up to date ($hash)"
  exit 0
fi

# The npm language servers, from the lockfile, on the host (the hash above covers package-lock.json).
command -v npm >/dev/null || { echo "building $image needs node and npm (apt-get install nodejs npm)" >&2; exit 1; }
(cd "$ctx" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >/tmp/padbox-lsp-npm.log 2>&1) || {
  tail -n 20 /tmp/padbox-lsp-npm.log >&2; echo "error: npm ci for $image failed" >&2; exit 1; }
bash runner-image/make-base.sh "$base"
echo "building $image ($hash) ..."
start=$(date +%s)
if ! docker build --build-arg BASE="$base" --label padbox.source-hash="$hash" -t "$image" "$ctx" >/tmp/padbox-lsp-image-build.log 2>&1; then
  tail -n 40 /tmp/padbox-lsp-image-build.log >&2
  echo "error: building $image failed; full log in /tmp/padbox-lsp-image-build.log" >&2
  exit 1
fi
size=$(docker image inspect -f '{{ .Size }}' "$image")
echo "built $image in $(( $(date +%s) - start )) s, $(( size / 1000000 )) MB"
