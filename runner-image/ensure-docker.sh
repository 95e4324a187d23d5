#!/usr/bin/env bash
# Makes sure a Docker engine answers. As root on Debian/Ubuntu it installs docker.io and starts
# dockerd in the background when needed; anywhere else it stops with instructions. Never continues without one.
#
# With PADBOX_RUNTIME=runsc (or PADBOX_INSTALL_RUNSC=1) it also makes gVisor available: Debian's
# `runsc` package is installed when missing and registered in /etc/docker/daemon.json as the
# runtime "runsc" (other keys of that file are kept), and the engine is told about it.
set -euo pipefail
log=${PADBOX_DOCKERD_LOG:-/var/log/padbox-dockerd.log}
daemon_json=${PADBOX_DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}

answers() { timeout 10 docker info >/dev/null 2>&1; }
can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

wait_for_engine() {
  for _ in $(seq 1 60); do
    if answers; then
      return 0
    fi
    sleep 1
  done
  echo "error: dockerd did not answer within 60 s; see $log" >&2
  exit 1
}

start_dockerd() {
  echo "starting dockerd in the background (log: $log) ..."
  # setsid: the engine must outlive the make process that started it.
  setsid nohup dockerd >"$log" 2>&1 </dev/null &
}

# A dockerd that has exited but was never reaped (where pid 1 does not reap orphans, as in some containers
# and VMs) still matches pgrep; only a live one counts, or a stopped engine would never be started again.
dockerd_alive() {
  local pid
  for pid in $(pgrep -x dockerd); do
    if [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
      return 0
    fi
  done
  return 1
}

ensure_engine() {
  if command -v docker >/dev/null 2>&1 && answers; then
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    if ! can_install; then
      echo "error: no Docker engine answers and this is not root on Debian/Ubuntu." >&2
      echo "Install Docker (https://docs.docker.com/engine/install/), start it, and make sure 'docker info' works for this user." >&2
      exit 1
    fi
    echo "installing docker.io with apt-get ..."
    apt-get update -q >/dev/null
    NEEDRESTART_SUSPEND=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "error: dockerd is installed but not running; start it (e.g. 'sudo systemctl start docker')." >&2
    exit 1
  fi
  if ! dockerd_alive; then
    start_dockerd
  fi
  wait_for_engine
  echo "Docker engine is up"
}

dockerd_pid() { cat /var/run/docker.pid 2>/dev/null || pgrep -xo dockerd; }
engine_has_runsc() { docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'; }

# Adds (or corrects) the runsc entry of daemon.json, keeping every other key. Prints "changed" when it wrote.
# --network=none: under runsc, Docker's `--network none` alone still gives gVisor's netstack a
# host-side set-up to probe; this makes the sandbox's network stack loopback-only inside gVisor itself.
# --oci-seccomp: gVisor applies Docker's seccomp profile inside the sandbox too; without it a program
# could unshare a user namespace (and be root in it) inside gVisor's kernel.
merge_runtime_entry() {
  python3 - "$daemon_json" "$(command -v runsc)" <<'EOF'
import json, os, sys
path, binary = sys.argv[1], sys.argv[2]
try:
    with open(path) as f:
        config = json.load(f)
except FileNotFoundError:
    config = {}
wanted = {"path": binary, "runtimeArgs": ["--network=none", "--oci-seccomp"]}
runtimes = config.setdefault("runtimes", {})
if runtimes.get("runsc") != wanted:
    runtimes["runsc"] = wanted
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".padbox-new", "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    os.replace(path + ".padbox-new", path)
    print("changed")
EOF
}

ensure_runsc() {
  if ! command -v runsc >/dev/null 2>&1; then
    if ! can_install; then
      echo "error: PADBOX_RUNTIME=runsc needs gVisor's runsc; install it (https://gvisor.dev/docs/user_guide/install/)." >&2
      exit 1
    fi
    echo "installing runsc (gVisor) with apt-get ..."
    apt-get update -q >/dev/null
    NEEDRESTART_SUSPEND=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -q runsc >/dev/null
  fi
  if [ "$(id -u)" != 0 ]; then
    if engine_has_runsc; then
      return 0
    fi
    echo "error: the Docker engine has no runtime 'runsc'; as root, run: PADBOX_RUNTIME=runsc bash $0" >&2
    exit 1
  fi
  if [ "$(merge_runtime_entry)" != changed ] && engine_has_runsc; then
    return 0
  fi
  # dockerd re-reads its runtimes on SIGHUP without stopping any container; restart it only if that did not take.
  echo "registering runsc with the Docker engine ($daemon_json) ..."
  if pid=$(dockerd_pid) && [ -n "$pid" ]; then
    kill -HUP "$pid"
    for _ in $(seq 1 20); do
      if engine_has_runsc; then
        echo "runsc registered"
        return 0
      fi
      sleep 0.5
    done
    echo "dockerd did not pick up runsc on reload; restarting it ..."
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker 2>/dev/null; then
      systemctl restart docker
    else
      kill -TERM "$pid"
      for _ in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
      done
      start_dockerd
    fi
  else
    start_dockerd
  fi
  wait_for_engine
  if ! engine_has_runsc; then
    echo "error: the Docker engine still lists no runtime 'runsc'; see $log" >&2
    exit 1
  fi
  echo "runsc registered"
}

ensure_engine
if [ "${PADBOX_RUNTIME:-}" = runsc ] || [ "${PADBOX_INSTALL_RUNSC:-}" = 1 ]; then
  ensure_runsc
fi
