"""Secrets and the host: nothing of the server's environment reaches a sandbox, there is no Docker
socket, the agent's /proc entries are closed, and /sys and /proc/sys cannot be written."""

from __future__ import annotations

import json

import pytest

from tests.security.target import BOXES, GVISOR, Target, program, report

pytestmark = pytest.mark.docker

# What a sandbox's environment may hold: the stage's own variables (PATH, HOME, locale, the language's
# unbuffering switches and caches, TERM in tty mode), never anything from the server.
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "KEY", "DOCKER", "AWS", "PADBOX")


@pytest.fixture(scope="module")
async def seen(target: Target) -> dict[str, object]:
    t = await target.run("python", program("secrets_probe.py"))
    await target.survived(t)
    return report(t)


async def test_no_server_secret_or_token_is_readable_anywhere(target: Target, seen: dict[str, object]) -> None:
    everything = json.dumps(seen)
    assert target.canary not in everything, "a secret from the server's environment reached the sandbox"
    assert target.token not in everything, "the API token reached the sandbox"
    names = list(seen["environment"])  # type: ignore[call-overload]
    assert not [n for n in names if any(word in n.upper() for word in SECRET_WORDS)], names


async def test_the_agents_environment_is_closed(seen: dict[str, object]) -> None:
    agent = seen["processes"]["1"]  # type: ignore[index]
    if GVISOR:
        # gVisor's /proc ignores the agent's non-dumpable flag here: what it shows is the image's fixed
        # variables (the server's secrets are absent from every process, as tested above).
        assert not any(word in str(agent["environ"]) for word in ("TOKEN", "SECRET", "AWS"))
    else:
        assert seen["agent_environ"] == "EACCES" and agent["environ"] == "EACCES"


async def test_a_program_cannot_forge_the_agents_exit(target: Target) -> None:
    """A fake `exit` written into the agent's output stream would end the run as `ok` at once."""
    t = await target.run("python", program("forge_frames.py"), limits={"run_timeout_s": 2})
    if GVISOR:
        # gVisor lets the program open /proc/1/fd/1 whatever the agent's dumpable flag, so the write works
        # (and its fake output is output like any other), but the fake exit lacks the agent's MAC.
        assert "wrote into the agent's stream" in t.text() or t.text().startswith("refused")
    elif BOXES:
        # In a box, pid 1 is the box's keeper, which has no standard streams at all: nothing to write into.
        assert t.text() in ("refused: Permission denied\n", "refused: No such file or directory\n")
    else:
        assert t.text() == "refused: Permission denied\n"
    assert t.verdict == "timeout" and len(t.exits()) == 1, "the forged exit was dropped: the run lasted to its limit"
    assert t.exits()["run"]["wall_ms"] > 1000
    await target.survived(t)


async def test_there_is_no_docker_socket_inside(seen: dict[str, object]) -> None:
    assert not any(seen["sockets"].values()), seen["sockets"]  # type: ignore[attr-defined]


async def test_writes_to_sys_and_proc_sys_fail(seen: dict[str, object]) -> None:
    writes: dict[str, str] = seen["writes"]  # type: ignore[assignment]
    for path, outcome in writes.items():
        assert outcome in ("EROFS", "EACCES", "EPERM", "ENOENT"), f"{path}: {outcome}"
    refused = [path for path, outcome in writes.items() if outcome != "ENOENT"]
    assert len(refused) >= (2 if GVISOR else 4), f"too few of these exist to prove anything: {writes}"


async def test_a_program_cannot_shield_itself_from_the_oom_killer(seen: dict[str, object]) -> None:
    if GVISOR:
        # Inside gVisor the score is gVisor's own bookkeeping: the host's OOM killer sees only the sandbox
        # process, whose score (500) the program cannot reach, and ends the whole sandbox.
        assert seen["oom_exempt"] in ("EACCES", "EPERM", "written")
    else:
        assert seen["oom_exempt"] in ("EACCES", "EPERM")
        assert seen["oom_score_adj"] == {"program": "1000", "agent": "500"}, "the program goes before the agent"
