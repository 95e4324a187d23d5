"""The last steps of a program's process inside a box, just before exec: no capabilities, no way back up, and
the inner seccomp filter.

The host container's seccomp profile lets the agent build boxes (unshare, setns, mount). The program must not
have any of that, nor the kernel surfaces a program never needs, so this filter refuses them again; a seccomp
filter can only ever be narrowed, by anyone, so the program cannot lift it. The filter is built with libseccomp
(Debian's python3-seccomp), which knows each architecture's numbers and the argument checks.
"""

from __future__ import annotations

import ctypes
import errno
import importlib
import sys

TYPE_CHECKING = False  # typing costs every sandbox's start; only the type checker needs it
if TYPE_CHECKING:
    from types import ModuleType

# The agent runs with -S (no site-packages): Debian's python3-seccomp lives here.
DIST_PACKAGES = "/usr/lib/python3/dist-packages"
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
LAST_CAPABILITY = 63  # past the kernel's last one, PR_CAPBSET_DROP fails with EINVAL: harmless

# Refused with EPERM inside every box.
REFUSED = (
    # new namespaces and mounts: the agent's tools, never the program's
    "unshare setns mount umount umount2 pivot_root chroot fsopen fsconfig fsmount fspick move_mount open_tree "
    "mount_setattr "
    # the kernel keyring, BPF, io_uring, userfaultfd, perf events
    "keyctl add_key request_key bpf io_uring_setup io_uring_enter io_uring_register userfaultfd perf_event_open "
    # reaching into other processes
    "ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd "
    # the machine itself
    "init_module finit_module delete_module kexec_load kexec_file_load reboot swapon swapoff acct quotactl "
    "open_by_handle_at name_to_handle_at lookup_dcookie syslog vhangup"
).split()
CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x80)

_seccomp: ModuleType | None = None


def load_library() -> None:
    """Import libseccomp's binding once, in the agent, so every program's fork inherits it loaded."""
    global _seccomp
    if _seccomp is None:
        if DIST_PACKAGES not in sys.path:
            sys.path.append(DIST_PACKAGES)
        try:
            seccomp = importlib.import_module("seccomp")
        except ImportError as exc:  # no inner filter, no boxes: the agent serves one run per container
            raise OSError(errno.ENOENT, f"libseccomp's Python binding is missing ({exc})") from None
        _seccomp = seccomp


def confine() -> None:
    """In the program's process, last thing before exec: drop every capability it holds in the box for good,
    forbid gaining any (no_new_privs), and install the inner filter."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(LAST_CAPABILITY + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "could not set no_new_privs")
    install_filter()


def install_filter() -> None:
    load_library()
    seccomp = _seccomp
    assert seccomp is not None
    refuse = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in REFUSED:
        try:
            rules.add_rule(refuse, name)
        except (RuntimeError, ValueError):  # not a system call on this architecture
            pass
    for flag in CLONE_NAMESPACE_FLAGS:
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 takes its flags in memory, out of a filter's sight: ENOSYS makes C libraries use clone instead.
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    rules.load()
