"""The language-server sandbox, attacked from inside: whatever runs there (a language server a malicious pad file
subverted) has no network, cannot write the image, holds no capability, and the shim writes the pad's files
nowhere but /work. The container is a run's container in every hardening setting, and labelled as padbox's."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.conftest import ServerProcess, instance_name, require_lsp_image, start_server
from tests.eventually import eventually
from tests.pads_client import LspClient, YClient, append, http
from tests.security.target import program

pytestmark = pytest.mark.docker

TEXT = "import os\nos.pa\n"


@pytest.fixture(scope="module")
def lsp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    require_lsp_image()
    srv = start_server(
        tmp_path_factory.mktemp("lsp-redteam"), instance_name("pytest-redteam-lsp"), PADBOX_POOL_SIZE="0"
    )
    yield srv
    srv.stop()
    assert not srv.containers(), "containers outlived the server"


@pytest.fixture(scope="module")
async def sandbox(lsp_server: ServerProcess) -> AsyncIterator[tuple[dict[str, Any], str]]:
    """A pad whose language server runs, and its container's id."""
    status, pad = http(
        "POST", f"{lsp_server.url}/api/v1/pads", {"language": "python", "files": [{"name": "main.py", "content": TEXT}]}
    )
    assert status == 201
    client = await LspClient.connect(f"ws://127.0.0.1:{lsp_server.port}", pad["id"], pad["keys"]["edit"])

    async def ready() -> bool:
        answer = await client.ask("textDocument/completion", "main.py", TEXT, 1, 5)
        return "path" in [item["label"] for item in (answer.get("result") or {}).get("items", [])]

    await eventually(ready, 60, "the language server answers")
    out = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=padbox.session=lsp-{pad['id']}"],
        capture_output=True,
        text=True,
        check=True,
    )
    (container,) = out.stdout.split()
    yield pad, container
    await client.close()


def inside(container: str, source: str) -> subprocess.CompletedProcess[str]:
    """A Python program run in the language server's sandbox, as its own user: what a subverted server could do."""
    return subprocess.run(
        ["docker", "exec", "-i", container, "python3", "-"], input=source, capture_output=True, text=True, timeout=60
    )


async def test_the_container_is_hardened_like_a_runs_and_labelled(sandbox: tuple[dict[str, Any], str]) -> None:
    pad, container = sandbox
    (info,) = json.loads(subprocess.run(["docker", "inspect", container], capture_output=True, check=True).stdout)
    host = info["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert any(option.startswith("seccomp=") for option in host["SecurityOpt"]), "padbox's own seccomp profile"
    assert host["Memory"] > 0 and host["MemorySwap"] == host["Memory"] and host["PidsLimit"] > 0
    assert host["NanoCpus"] > 0 and host["Privileged"] is False
    assert set(host["Tmpfs"]) == {"/work", "/tmp"}
    assert info["Config"]["User"] == "1000:1000"
    labels = info["Config"]["Labels"]
    assert labels["padbox.session"] == f"lsp-{pad['id']}" and labels["padbox.lsp"] == "python"
    assert labels["padbox.instance"].startswith("pytest-redteam-lsp")


async def test_a_program_in_the_sandbox_reaches_no_network(sandbox: tuple[dict[str, Any], str]) -> None:
    _, container = sandbox
    probe = inside(container, program("network_probe.py"))
    report = json.loads(probe.stdout.splitlines()[0])
    assert report["interfaces"] == ["lo"]
    assert report["routes"] == [] and report["ipv6_routes"] == []
    for attempt in report["attempts"]:
        assert attempt["result"] in ("ENETUNREACH", "EHOSTUNREACH"), attempt


async def test_a_program_in_the_sandbox_cannot_write_the_image_or_hold_privileges(
    sandbox: tuple[dict[str, Any], str],
) -> None:
    _, container = sandbox
    probe = inside(
        container,
        "import json, os\n"
        "results = {}\n"
        "for path in ('/opt/padbox-lsp/shim.py', '/usr/bin/pylsp', '/etc/passwd'):\n"
        "    try:\n"
        "        open(path, 'a').close()\n"
        "        results[path] = 'written'\n"
        "    except OSError as exc:\n"
        "        results[path] = exc.strerror\n"
        "status = open('/proc/self/status').read()\n"
        "caps = [l.split()[1] for l in status.splitlines() if l.startswith(('CapEff', 'CapPrm', 'CapBnd'))]\n"
        "print(json.dumps({'writes': results, 'caps': caps, 'uid': os.getuid()}))\n",
    )
    report = json.loads(probe.stdout)
    assert set(report["writes"].values()) <= {"Read-only file system", "Permission denied"}, report
    assert report["caps"] == ["0000000000000000"] * 3
    assert report["uid"] == 1000


async def test_a_pad_file_named_to_escape_work_is_not_written_outside_it(
    lsp_server: ServerProcess, sandbox: tuple[dict[str, Any], str]
) -> None:
    pad, container = sandbox
    async with await YClient.connect(f"ws://127.0.0.1:{lsp_server.port}", pad["id"], pad["keys"]["edit"]) as peer:
        await peer.synced.wait()
        await peer.edit(append("../tmp/escaped.py", "x = 1\n"))
        await peer.edit(append("inside.py", "y = 2\n"))
        await peer.roundtrip()

    def written() -> bool:
        return inside(container, "import os; print(os.path.exists('/work/inside.py'))").stdout.strip() == "True"

    await eventually(written, 20, "the pad's new file written into /work")
    assert inside(container, "import os; print(os.path.exists('/tmp/escaped.py'))").stdout.strip() == "False"
