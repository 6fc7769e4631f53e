"""The sandbox a partner app runs in: its own process, user id, limits and filter.

`launch` starts ``python -m fsw.payload.runner`` with one end of a Unix
socket pair (the bus bridge) and nothing else open. Containment, in the
order it is applied:

1. First thing in the runner (`isolate`; only when the host runs as root):
   new mount, network, IPC and UTS namespaces (``unshare(2)``); the mount
   tree made private and an empty read-only tmpfs mounted over ``/dev``, so
   the app sees no device nodes; the network namespace has only a
   loopback that is down, so there is no network. Every app runs at
   ``SCHED_IDLE`` and nice 19 in a session of its own, so the flight rate
   groups always win the CPU.
2. Then, after the SDK is imported and before any partner code is
   (`confine`): resource limits (``RLIMIT_CPU``, ``RLIMIT_AS``,
   ``RLIMIT_NOFILE``, ``RLIMIT_NPROC``, ``RLIMIT_FSIZE``, ``RLIMIT_CORE``);
   when root, ``setgroups([])``, ``setresgid``/``setresuid`` to the app's
   own unprivileged id (``base_uid`` + slot); ``PR_SET_NO_NEW_PRIVS``;
   then a seccomp allowlist (libseccomp through the ``pyseccomp`` ctypes
   binding; kernel seccomp-BPF, ``SECCOMP_SET_MODE_FILTER``) whose default
   action is ``EPERM``: no ``socket``, ``connect``, ``bind``, ``fork``,
   ``execve``, ``ptrace``, ``mount``, ``mknod`` and the like. When
   libseccomp cannot be loaded the app still runs with no_new_privs and the
   rest, and `confine` reports ``seccomp: unavailable``.

The app writes no file itself: ``RLIMIT_FSIZE`` is 0 (a write that would
grow any file fails with ``SIGXFSZ``/``EFBIG``), the seccomp filter refuses
``open`` and ``openat`` for writing or creating and every call that renames,
links, removes or truncates, and when the host runs as root the private
directory belongs to the host (mode 0700) rather than to the app. The app's
files are kept by the host over the bridge (STORAGE requests), which
enforces the quota (bytes and files) on every write; no other partner's app
can read them. The supervisor still measures the directory every period.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsw.payload.manifest import Resources


def _load_seccomp() -> tuple[Any, str]:
    # pyseccomp finds its libraries with ctypes.util.find_library, which runs
    # ldconfig in a subprocess that needs /dev/null; the runner has no /dev,
    # so the Linux sonames are given to dlopen directly.
    import ctypes.util
    find = ctypes.util.find_library
    sonames = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}
    ctypes.util.find_library = lambda name: sonames.get(name) or find(name)
    try:
        import pyseccomp
        return pyseccomp, ""
    except (ImportError, OSError, RuntimeError) as exc:
        return None, str(exc)
    finally:
        ctypes.util.find_library = find


seccomp, _SECCOMP_ERROR = _load_seccomp()

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REC = 1 << 14
MS_PRIVATE = 1 << 18
PR_SET_NO_NEW_PRIVS = 38
MAX_OPEN_FILES = 32
MAX_PROCESSES = 8  # threads count against RLIMIT_NPROC; fork is refused by seccomp anyway

# Syscalls a Python interpreter needs to run an app that computes, reads its
# code and talks over the already-open bridge (its files are the host's:
# `open`/`openat` only to read, see `install_seccomp`). Everything else fails
# with EPERM.
ALLOWED_SYSCALLS = (
    "read", "write", "readv", "writev", "pread64", "pwrite64", "close", "lseek",
    "stat", "fstat", "lstat", "newfstatat", "statx", "access", "faccessat",
    "faccessat2", "getdents64", "getcwd", "readlink", "readlinkat", "fcntl", "ioctl", "dup",
    "dup2", "dup3", "fsync", "fdatasync",
    "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "rt_sigaction",
    "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "select", "pselect6", "poll", "ppoll",
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "sendto", "recvfrom",
    "sendmsg", "recvmsg", "shutdown", "getsockopt", "getsockname", "getpeername",
    "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
    "getrandom", "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid",
    "getresuid", "getresgid", "getgroups", "futex", "set_robust_list", "get_robust_list",
    "rseq", "set_tid_address", "sched_yield", "sched_getaffinity", "getrusage", "times",
    "sysinfo", "uname", "prlimit64", "getrlimit", "exit", "exit_group", "tgkill", "kill",
    "restart_syscall", "pipe2", "eventfd2", "membarrier", "arch_prctl",
)
CLONE_THREAD = 0x00010000
OPEN_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


@dataclass(frozen=True)
class SandboxSpec:
    """Where and how one app runs."""

    name: str
    code_dir: Path  # the installed version: manifest.toml and app/
    data_dir: Path  # the private writable directory
    uid: int  # used only when the host runs as root
    resources: Resources
    cpu_seconds: int = 3600  # RLIMIT_CPU backstop; the supervisor acts long before


@dataclass
class Launched:
    process: subprocess.Popen
    sock: socket.socket  # the host's end of the bridge, non-blocking


def running_as_root() -> bool:
    return os.geteuid() == 0


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def isolate() -> str:
    """Namespaces and an empty /dev (root only), then idle scheduling; in the runner.

    Done by the app's own process after exec rather than between fork and
    exec, so the host never waits for a network namespace to be made (which
    can take the kernel tens of milliseconds) inside a rate-group cycle.
    """
    applied = "no namespaces (not root)"
    if running_as_root():
        libc = _libc()
        if libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            raise OSError(ctypes.get_errno(), "make / private")
        if libc.mount(b"tmpfs", b"/dev", b"tmpfs",
                      MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, b"size=4k,mode=0555") != 0:
            raise OSError(ctypes.get_errno(), "hide /dev")
        applied = "namespaces, no /dev"
    os.nice(19)
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        pass
    return applied


def prepare_dirs(spec: SandboxSpec) -> None:
    """Create the private directory (the host's, mode 0700: the app's files are written
    by the host) and make the code readable by the app's group only, when root."""
    spec.data_dir.mkdir(parents=True, exist_ok=True)
    if running_as_root():
        spec.code_dir.parent.chmod(0o711)
        os.chown(spec.data_dir, 0, 0)
        # the code is readable by the app's group only: no partner reads another's code
        for path in [spec.code_dir, *spec.code_dir.rglob("*")]:
            os.chown(path, 0, spec.uid)
            os.chmod(path, 0o750 if path.is_dir() else 0o640)
    os.chmod(spec.data_dir, 0o700)


def launch(spec: SandboxSpec) -> Launched:
    """Start the app's process; the host keeps the returned socket end."""
    prepare_dirs(spec)
    host_end, app_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    r = spec.resources
    argv = [sys.executable, "-I", "-B", "-m", "fsw.payload.runner",
            "--fd", str(app_end.fileno()), "--code", str(spec.code_dir),
            "--data", str(spec.data_dir), "--uid", str(spec.uid),
            "--memory-mib", str(r.memory_mib), "--storage-kib", str(r.storage_kib),
            "--cpu-seconds", str(spec.cpu_seconds)]
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))}
    # No preexec_fn: the child is spawned without running Python between fork and
    # exec (fast, and safe beside threads); the runner isolates itself first thing.
    proc = subprocess.Popen(argv, pass_fds=(app_end.fileno(),), close_fds=True, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd="/", start_new_session=True)
    app_end.close()
    host_end.setblocking(False)
    host_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    host_end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return Launched(proc, host_end)


# -- in the runner (the app's process) -----------------------------------------------
def set_limits(memory_mib: int, cpu_seconds: int) -> None:
    """Resource limits of this process (and its user id, for processes)."""
    limits = {
        resource.RLIMIT_CPU: cpu_seconds,
        resource.RLIMIT_AS: memory_mib << 20,
        resource.RLIMIT_NOFILE: MAX_OPEN_FILES,
        resource.RLIMIT_NPROC: MAX_PROCESSES,
        resource.RLIMIT_FSIZE: 0,  # no file grows: the host writes the app's files
        resource.RLIMIT_CORE: 0,
    }
    for which, value in limits.items():
        # A host that itself runs under a lower hard limit (a service manager's
        # LimitCPU, `ulimit -t`) passes it on: the app keeps the lower one. Raising
        # a hard limit needs CAP_SYS_RESOURCE, and without it the app could not start.
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def drop_privileges(uid: int) -> None:
    """Become `uid` (and gid `uid`) for good, with no supplementary groups."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def no_new_privs() -> None:
    if _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def install_seccomp() -> str:
    """Load the allowlist filter; return which mechanism is in force."""
    if seccomp is None:
        return f"seccomp unavailable ({_SECCOMP_ERROR[:40]}): no_new_privs only"
    flt = seccomp.SyscallFilter(seccomp.ERRNO(errno.EPERM))
    for name in ALLOWED_SYSCALLS:
        try:
            flt.add_rule(seccomp.ALLOW, name)
        except (OSError, ValueError, RuntimeError):
            continue  # not a syscall on this architecture
    # open for reading only: no write, create, truncate or append flag (open(2))
    for name, flags_arg in (("openat", 2), ("open", 1)):
        flt.add_rule(seccomp.ALLOW, name, seccomp.Arg(flags_arg, seccomp.MASKED_EQ,
                                                      OPEN_WRITE_FLAGS, 0))
    # threads yes (CLONE_THREAD set), new processes no
    flt.add_rule(seccomp.ALLOW, "clone",
                 seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, CLONE_THREAD))
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")  # glibc then falls back to clone
    flt.load()
    return "seccomp allowlist"


def confine(uid: int, memory_mib: int, storage_kib: int, cpu_seconds: int,
            data_dir: str) -> list[str]:
    """Everything the runner applies to itself before loading partner code."""
    applied = []
    set_limits(memory_mib, cpu_seconds)
    applied.append(f"AS {memory_mib} MiB, files {MAX_OPEN_FILES}, procs {MAX_PROCESSES}")
    os.chdir(data_dir)  # while it may: the app's id cannot enter the host's folder
    if running_as_root():
        drop_privileges(uid)
        applied.append(f"uid {uid}")
    else:
        applied.append(f"uid {os.getuid()} (not root: shared)")
    no_new_privs()
    applied.append("no_new_privs")
    applied.append(install_seccomp())
    return applied


def unenterable_folder(root: Path) -> Path | None:
    """The first folder down to `root` (included) that apps under user ids of their own
    cannot enter (no search permission for others), when the host runs as root and
    gives them those ids; None when they can reach it (or share the host's id)."""
    if os.geteuid() != 0:
        return None
    root = Path(root).resolve()
    for folder in (*reversed(root.parents), root):
        if not folder.stat().st_mode & 0o001:
            return folder
    return None
