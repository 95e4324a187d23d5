"""padbox's own seccomp profiles for its containers, in the OCI form Docker takes in `SecurityOpt`.

Why our own: Docker 20.10's built-in profile still allows `io_uring_setup`, `io_uring_enter` and
`io_uring_register` (Docker 25 removed them), and io_uring has been one of the largest sources of kernel
privilege escalations. A profile shipped with padbox is the same on every engine version.

The shape is Docker's: refuse everything (EPERM), then allow by name what an unprivileged program uses. Our
containers drop every capability, so the calls Docker allows only together with a capability (`mount` with
CAP_SYS_ADMIN, `chroot` with CAP_SYS_CHROOT, ...) are simply left out: without the capability they would fail
anyway, and left out they do not even reach the kernel's code for them. Beyond Docker 20.10's default it also
refuses io_uring and AF_VSOCK sockets, and answers `clone3` with ENOSYS (its flags sit in memory, where a
filter cannot read them), so C libraries fall back to `clone`, whose flags it can check.

Two profiles:
- `CONTAINER`: one run per container (`PADBOX_ISOLATION=container`, and gVisor).
- `NAMESPACE`: a container that hosts many runs, each in a fresh sandbox of namespaces the agent builds
  (runner-image/agent/padbox_agent/box.py). The agent needs `unshare`, `setns` and `mount` for that, so this
  profile adds exactly those three. The program never gets them: before it starts, the agent installs a second,
  inner filter that refuses them again (padbox_agent/confine.py), and a seccomp filter can only ever be made
  stricter. docs/security.md says what that means.

`python -m padbox.backends.seccomp [namespace]` prints a profile, for operators who run the runner image
themselves.
"""

from __future__ import annotations

import json
import sys
from typing import Any

EPERM = 1
ENOSYS = 38
AF_VSOCK = 40
# Every CLONE_NEW* flag: a `clone` that asks for one is refused (a new namespace is the agent's job).
CLONE_NAMESPACE_FLAGS = 0x7E020080  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME
# personality(2) values that change nothing dangerous (Docker's list): the default, with READ_IMPLIES_EXEC
# off, UNAME26, and the query 0xffffffff.
ALLOWED_PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)

ARCHITECTURES = {
    "SCMP_ARCH_X86_64": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "SCMP_ARCH_AARCH64": ["SCMP_ARCH_ARM"],
}

# What an unprivileged program may call, by purpose. A name that an architecture lacks is skipped by the
# runtime (runc and gVisor both resolve names per architecture).
ALLOWED: dict[str, str] = {
    "processes and threads": (
        "arch_prctl capget capset execve execveat exit exit_group fork get_robust_list get_thread_area getcpu "
        "getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getpgid getpgrp getpid "
        "getppid getpriority getresgid getresgid32 getresuid getresuid32 getrlimit getrusage getsid gettid "
        "getuid getuid32 ioprio_get ioprio_set kill membarrier pidfd_open pidfd_send_signal prctl prlimit64 "
        "restart_syscall rseq sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr "
        "sched_getparam sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 "
        "sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp "
        "set_robust_list set_thread_area set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid "
        "setgid32 setgroups setgroups32 setpgid setpriority setregid setregid32 setresgid setresgid32 "
        "setresuid setresuid32 setreuid setreuid32 setrlimit setsid setuid setuid32 tgkill tkill ugetrlimit "
        "umask uname vfork wait4 waitid waitpid"
    ),
    "signals": (
        "alarm pause rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend "
        "rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaction sigaltstack signal signalfd "
        "signalfd4 sigpending sigprocmask sigreturn sigsuspend"
    ),
    "memory": (
        "brk get_mempolicy madvise mbind memfd_create mincore mlock mlock2 mlockall mmap mmap2 mprotect "
        "mremap msync munlock munlockall munmap pkey_alloc pkey_free pkey_mprotect process_mrelease "
        "remap_file_pages set_mempolicy"
    ),
    "files": (
        "access chdir chmod chown chown32 close close_range copy_file_range creat dup dup2 dup3 faccessat "
        "faccessat2 fadvise64 fadvise64_64 fallocate fchdir fchmod fchmodat fchmodat2 fchown fchown32 "
        "fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fremovexattr fsetxattr fstat fstat64 "
        "fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futimesat getcwd getdents getdents64 "
        "getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch lchown lchown32 lgetxattr "
        "link linkat listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 mkdir mkdirat "
        "mknod mknodat newfstatat open openat openat2 pipe pipe2 pread64 preadv preadv2 pwrite64 pwritev "
        "pwritev2 read readahead readlink readlinkat readv removexattr rename renameat renameat2 rmdir "
        "sendfile sendfile64 setxattr splice stat stat64 statfs statfs64 statx symlink symlinkat sync "
        "sync_file_range sync_file_range2 syncfs tee truncate truncate64 unlink unlinkat utime utimensat "
        "utimensat_time64 utimes vmsplice write writev arm_fadvise64_64 arm_sync_file_range"
    ),
    "waiting and events": (
        "epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait "
        "epoll_wait_old eventfd eventfd2 futex futex_time64 futex_waitv ioctl _newselect poll ppoll "
        "ppoll_time64 pselect6 pselect6_time64 select"
    ),
    "asynchronous I/O (the old interface; io_uring stays out)": (
        "io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit"
    ),
    "time": (
        "clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep "
        "clock_nanosleep_time64 getitimer gettimeofday nanosleep setitimer time timer_create timer_delete "
        "timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create "
        "timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times"
    ),
    "sockets (the network itself is absent: --network none)": (
        "accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg "
        "recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socketcall socketpair"
    ),
    "System V and POSIX IPC": (
        "ipc mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend "
        "mq_timedsend_time64 mq_unlink msgctl msgget msgrcv msgsnd semctl semget semop semtimedop "
        "semtimedop_time64 shmat shmctl shmdt shmget"
    ),
    "the system, read only": ("getrandom sysinfo landlock_add_rule landlock_create_ruleset landlock_restrict_self"),
    "ARM's own": ("breakpoint cacheflush set_tls"),
}

# What the agent needs on top, to build each run's sandbox (NAMESPACE only).
SANDBOX_BUILDING = "mount setns unshare"


def profile(namespaces: bool = False) -> dict[str, Any]:
    """The OCI seccomp profile; `namespaces`: the one for containers that host per-run sandboxes."""
    groups = [*ALLOWED.values(), SANDBOX_BUILDING] if namespaces else list(ALLOWED.values())
    names = sorted({name for group in groups for name in group.split()})
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "archMap": [{"architecture": arch, "subArchitectures": subs} for arch, subs in ARCHITECTURES.items()],
        "syscalls": [
            {"names": names, "action": "SCMP_ACT_ALLOW"},
            # clone with no namespace flag (on s390 the flags are the second argument; not supported here).
            {
                "names": ["clone"],
                "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
            },
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS},
            {
                "names": ["socket"],
                "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": AF_VSOCK, "op": "SCMP_CMP_NE"}],
            },
            *(
                {
                    "names": ["personality"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": value, "op": "SCMP_CMP_EQ"}],
                }
                for value in ALLOWED_PERSONALITIES
            ),
        ],
    }


def security_option(namespaces: bool = False) -> str:
    """The profile as Docker's `SecurityOpt` entry (the API takes the JSON itself, not a file name)."""
    return "seccomp=" + json.dumps(profile(namespaces), separators=(",", ":"))


if __name__ == "__main__":
    print(json.dumps(profile(namespaces=sys.argv[1:] == ["namespace"]), indent=2))
