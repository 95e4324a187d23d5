"""padbox's seccomp profiles: what the containers may call, checked as data (the attacks are in tests/security)."""

from __future__ import annotations

import json

from padbox.backends.seccomp import ALLOWED, SANDBOX_BUILDING, profile, security_option


def allowed_names(namespaces: bool) -> set[str]:
    rules = profile(namespaces)["syscalls"]
    return {
        name for rule in rules if rule["action"] == "SCMP_ACT_ALLOW" and "args" not in rule for name in rule["names"]
    }


def test_everything_not_named_is_refused_with_eperm() -> None:
    assert profile()["defaultAction"] == "SCMP_ACT_ERRNO" and profile()["defaultErrnoRet"] == 1


def test_io_uring_is_refused_in_both_profiles() -> None:
    for namespaces in (False, True):
        names = {name for rule in profile(namespaces)["syscalls"] for name in rule["names"]}
        assert not {n for n in names if n.startswith("io_uring")}, namespaces


def test_only_the_namespace_profile_may_build_sandboxes() -> None:
    building = set(SANDBOX_BUILDING.split())
    assert not building & allowed_names(False)
    assert building <= allowed_names(True)
    assert allowed_names(True) - allowed_names(False) == building


def test_calls_that_need_a_capability_or_reach_the_kernel_dangerously_are_never_allowed() -> None:
    forbidden = {
        "keyctl", "add_key", "request_key", "bpf", "userfaultfd", "perf_event_open", "ptrace", "process_vm_readv",
        "process_vm_writev", "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
        "reboot", "pivot_root", "chroot", "fsopen", "fsmount", "move_mount", "open_tree", "mount_setattr", "swapon",
        "open_by_handle_at", "clone3",
    }  # fmt: skip
    for namespaces in (False, True):
        assert not forbidden & allowed_names(namespaces)


def test_clone_is_allowed_only_without_namespace_flags() -> None:
    (clone,) = [rule for rule in profile()["syscalls"] if rule["names"] == ["clone"]]
    (arg,) = clone["args"]
    assert arg["op"] == "SCMP_CMP_MASKED_EQ" and arg["valueTwo"] == 0
    for flag in (0x00020000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000):  # NEWNS ... NEWNET
        assert arg["value"] & flag


def test_clone3_says_enosys_so_c_libraries_fall_back_to_clone() -> None:
    (rule,) = [rule for rule in profile()["syscalls"] if rule["names"] == ["clone3"]]
    assert rule["action"] == "SCMP_ACT_ERRNO" and rule["errnoRet"] == 38


def test_no_name_is_listed_twice_and_docker_gets_the_json_itself() -> None:
    names = [name for group in ALLOWED.values() for name in group.split()]
    assert len(names) == len(set(names))
    option = security_option(namespaces=True)
    assert option.startswith("seccomp=") and json.loads(option.removeprefix("seccomp=")) == profile(True)
