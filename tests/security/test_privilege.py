"""Privilege: every way up from the sandbox user is denied (one probe program, one run, a test per way)."""

from __future__ import annotations

import pytest

from tests.security.target import BOXES, GVISOR, Target, program, report

pytestmark = pytest.mark.docker

DENIED = {"EPERM", "EACCES"}
# gVisor does not implement these at all, which denies them as surely.
DENIED_OR_ABSENT = DENIED | ({"ENOSYS"} if GVISOR else set())


@pytest.fixture(scope="module")
async def probe(target: Target) -> dict[str, object]:
    t = await target.run("python", program("privilege_probe.py"), limits={"run_timeout_s": 30})
    await target.survived(t)
    return report(t)


async def test_the_program_runs_unprivileged_with_no_capabilities(probe: dict[str, object]) -> None:
    assert (probe["uid"], probe["euid"], probe["groups"]) == (1000, 1000, [1000])
    assert probe["cap_eff"] == probe["cap_bnd"] == "0000000000000000"
    assert probe["no_new_privs"] == 1


@pytest.mark.parametrize("name", ["setuid_su", "setuid_mount", "setuid_passwd"])
async def test_setuid_binaries_grant_nothing(probe: dict[str, object], name: str) -> None:
    result = probe[name]
    assert result["code"] != 0, result  # type: ignore[index]
    assert "uid=0" not in result["output"] and "\n0\n" not in f"\n{result['output']}"  # type: ignore[index]


@pytest.mark.parametrize(
    "name",
    [
        "mount_syscall",
        "unshare_user",
        "unshare_mount",
        "ptrace_agent",
        "raw_socket",
        "packet_socket",
        "setuid_root",
        "chroot",
    ],
)
async def test_privileged_system_calls_are_denied(probe: dict[str, object], name: str) -> None:
    # gVisor, and a box's user namespace (where no uid 0 exists), refuse setuid(0) as an invalid id.
    invalid_id = (GVISOR or BOXES) and name == "setuid_root"
    assert probe[name] in DENIED | ({"EINVAL"} if invalid_id else set()), probe[name]


async def test_unshare_cannot_make_a_root_user_namespace(probe: dict[str, object]) -> None:
    assert probe["unshare_command"]["code"] != 0  # type: ignore[index]


@pytest.mark.parametrize("name", ["finit_module", "init_module", "bpf"])
async def test_kernel_modules_and_bpf_are_denied(probe: dict[str, object], name: str) -> None:
    assert probe[name] in DENIED_OR_ABSENT


@pytest.mark.parametrize("name", ["io_uring_setup", "io_uring_enter", "io_uring_register"])
async def test_a_program_cannot_set_up_an_io_uring(probe: dict[str, object], name: str) -> None:
    """Docker 20.10's own profile allows io_uring; padbox's profile (backends/seccomp.py) refuses it."""
    assert probe[name] in DENIED_OR_ABSENT, probe[name]


@pytest.mark.parametrize(
    "name",
    [
        "keyctl",
        "add_key",
        "userfaultfd",
        "perf_event_open",
        "setns_user",
        "clone_new_user",
        "fsopen",
        "open_tree",
        "process_vm_readv",
    ],
)
async def test_kernel_surfaces_a_program_never_needs_are_refused(probe: dict[str, object], name: str) -> None:
    assert probe[name] in DENIED_OR_ABSENT, probe[name]


@pytest.mark.parametrize("name", ["mknod_char", "mknod_block"])
async def test_device_nodes_give_no_device(probe: dict[str, object], name: str) -> None:
    result = probe[name]
    if GVISOR:
        # gVisor lets a node be made in its own tmpfs, but it leads to no device: nothing of the host's.
        assert result["mknod"] in DENIED or result["open"] in ("ENXIO", "ENODEV", "EACCES"), result  # type: ignore
    else:
        assert result["mknod"] == "EPERM", result  # type: ignore[index]
