"""The file system: a full disk, inode and descriptor exhaustion, the read-only image, symlink and
hardlink tricks, and nothing persisting from one run to the next. The host disk is never touched."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from padbox.client import Client, connect
from tests.security.target import BOXES, GVISOR, Target, docker_inspect, program, report

pytestmark = pytest.mark.docker

MEMORY_BACKED = {"tmpfs", "proc", "devpts", "mqueue", "sysfs", "cgroup", "cgroup2"}


async def test_filling_the_disk_and_the_inodes_and_the_descriptors_is_refused(target: Target) -> None:
    async with connect(target.ws_url) as ws:
        client = Client(ws)
        await client.run(language="python", source=program("fill_disk.py"), limits={"memory_mb": 256})
        await client.until(lambda f: f.type in ("stdout", "exit"), timeout=60)
        started = client.transcript.of("started")[0]["id"]
        (container,) = target.server.containers(started)
        written_to_host_disk = docker_inspect(container, size=True).get("SizeRw", 0)
        await client.stdin("go on\n")
        t = await client.collect()
    steps: dict[str, dict[str, object]] = {}
    for line in t.text().splitlines():
        steps.update(json.loads(line))
    assert steps["fill"]["error"] == "ENOSPC" and int(steps["fill"]["mb"]) <= 64  # type: ignore[call-overload]
    assert written_to_host_disk < 1 << 20, f"{written_to_host_disk} bytes reached the container's layer on disk"
    assert steps["open"]["error"] == "EMFILE" and int(steps["open"]["opened"]) < 256  # type: ignore[call-overload]
    if GVISOR:
        # gVisor's tmpfs has no inode limit: its files are memory the memory limit bounds, and creating them
        # is slow enough there that the CPU limit may end the run first.
        assert ("files" in steps and steps["files"]["error"] in ("ENOSPC", None)) or t.verdict == "timeout"
    else:
        assert steps["files"]["error"] == "ENOSPC" and int(steps["files"]["created"]) < 100_000  # type: ignore
        assert t.verdict == "ok"
    await target.survived(t)


async def test_everything_outside_the_tmpfs_is_read_only(target: Target) -> None:
    t = await target.run("python", program("read_only.py"))
    result = report(t)
    for path, outcome in result["writes"].items():
        assert outcome in ("EROFS", "EACCES"), f"{path}: {outcome}"
        if path.endswith("new-file") and not GVISOR:
            assert outcome == "EROFS", f"{path}: the image itself is mounted read-only"
    writable = [m for m in result["mounts"] if "rw" in m["options"]]
    on_disk = [m for m in writable if m["type"] not in MEMORY_BACKED]
    assert not on_disk, f"writable mounts backed by the host's disk: {on_disk}"
    await target.survived(t)


async def test_symlinks_and_hardlinks_in_the_work_directory_never_reach_the_host(
    target: Target, tmp_path: Path
) -> None:
    host_secret = tmp_path / "host-only-secret.txt"
    host_secret.write_text("the host's own file\n")
    since = time.time()
    t = await target.run("python", program("symlinks.py"), args=[str(host_secret)])
    result = report(t)
    assert result["links"]["host-file"] == "ENOENT", "a host path means nothing inside the sandbox"
    assert result["links"]["output.txt"] == "ENOENT", "there is no Docker socket to point at"
    assert result["links"]["agent-root"] == "EACCES"
    # (gVisor lets /proc/1/fd be opened: see test_secrets.py::test_a_program_cannot_forge_the_agents_messages)
    # In a box, pid 1 is the box's keeper, which holds no standard streams at all.
    reachable = ("EACCES", "EBADF", "read 0 bytes") if GVISOR else ("EACCES", "ENOENT") if BOXES else ("EACCES",)
    assert result["links"]["agent-stdout"] in reachable
    assert result["links"]["loop"] == "ELOOP"
    assert set(result["hardlinks"].values()) <= {"EXDEV", "EPERM", "EACCES"}, "no link to a file outside"
    await target.survived(t)
    run_id = t.of("started")[0]["id"]
    actions = subprocess.run(
        [
            "docker",
            "events",
            "--since",
            f"{since:.3f}",
            "--until",
            f"{time.time():.3f}",
            "--filter",
            f"label=padbox.session={run_id}",
            "--format",
            "{{.Action}}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    touching_paths = [a for a in actions if a.startswith(("exec_", "archive", "extract", "copy", "export", "commit"))]
    assert actions and not touching_paths, f"the host asked Docker to open paths inside the sandbox: {actions}"
    assert host_secret.read_text() == "the host's own file\n"


async def test_nothing_written_in_one_run_is_there_in_the_next(target: Target) -> None:
    plant = (
        "for d in /work /tmp /dev/shm; do echo planted > $d/planted && echo planted in $d; done\n"
        "echo 'echo planted' > $HOME/.bashrc\n"
        "echo planted > /var/tmp/planted 2>/dev/null\n"
        "exit 0\n"
    )
    first = await target.run("bash", plant)
    assert first.text().count("planted in") == 3
    look = "import os, json\nprint(json.dumps({d: sorted(os.listdir(d)) for d in ('/work', '/tmp', '/dev/shm')}))\n"
    second = await target.run("python", look)
    assert json.loads(second.text()) == {"/work": ["main.py"], "/tmp": [], "/dev/shm": []}
    await target.survived(first, second)
