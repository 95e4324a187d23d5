#!/usr/bin/env bash
# Builds padbox-runner:latest when runner-image/ changed since the
# image was built: the image carries a hash of its build context in the label padbox.source-hash.
# runner-image/lsp/ is another image's context (padbox-lsp:latest, runner-image/lsp/build.sh): it is left out of
# this one's context and hash, so a change to the language servers never rebuilds the runner.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${PADBOX_IMAGE:-padbox-runner:latest}
base=${PADBOX_BASE_IMAGE:-debian:bookworm-slim}

ctx=$(mktemp -d /tmp/padbox-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp -r runner-image/. "$ctx/"
rm -rf "$ctx/lsp"
find "$ctx" -name __pycache__ -prune -exec rm -rf {} +  # test runs leave bytecode; it must not change the hash

hash=$( { echo "$base"; cd "$ctx" && find . -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)

current=$(docker image inspect -f '{{ index .Config.Labels "padbox.source-hash" }}' "$image" 2>/dev/null || true)
if [ "$current" = "$hash" ] && [ -z "${PADBOX_FORCE_BUILD:-}" ]; then
  echo "$image is up to date ($hash)"
  exit 0
fi

bash runner-image/make-base.sh "$base"
echo "building $image ($hash) ..."
start=$(date +%s)
if ! docker build --build-arg BASE="$base" --label padbox.source-hash="$hash" -t "$image" "$ctx" >/tmp/padbox-image-build.log 2>&1; then
  tail -n 40 /tmp/padbox-image-build.log >&2
  echo "error: building $image failed; full log in /tmp/padbox-image-build.log" >&2
  exit 1
fi
size=$(docker image inspect -f '{{ .Size }}' "$image")
echo "built $image in $(( $(date +%s) - start )) s, $(( size / 1000000 )) MB"
