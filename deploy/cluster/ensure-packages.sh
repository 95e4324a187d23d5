#!/usr/bin/env bash
# Makes sure the local cluster's parts are installed: Debian's redis-server (7.0), postgresql (15) and haproxy
# (2.6). As root on Debian it installs the missing ones with apt-get, without letting their packages start the
# system services (padbox starts its own instances, on its own ports, in .cluster/); anywhere else it stops
# with what to install. Never continues without them.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: the local cluster needs ${missing[*]}; install them (apt-get install ${missing[*]}) and try again." >&2
  exit 1
fi
echo "installing ${missing[*]} with apt-get ..."
# policy-rc.d 101: the packages' own services stay stopped (this only needs the programs).
guard=/usr/sbin/policy-rc.d
placed=0
if [ ! -e "$guard" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod +x "$guard" && placed=1
fi
trap '[ "$placed" = 1 ] && rm -f "$guard"' EXIT
apt-get update -q >/dev/null
NEEDRESTART_SUSPEND=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "installed ${missing[*]}"
