"""Running the real CLI in child processes: resource usage, privileges, signals.

``run_measured`` starts a small runner interpreter that starts the command and
reaps it with ``os.wait4``: the CPU time and peak RSS reported are that one
process's. Reaping the command directly would not do: Linux carries the
parent's peak RSS into a child across fork and exec (``signal->maxrss``), so a
child of a pytest process that once held 150 MB reports at least 150 MB, and
``getrusage(RUSAGE_CHILDREN)`` is a maximum over every child ever reaped.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import pwd
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

import attrs
import pytest

NOBODY = pwd.getpwnam("nobody") if "nobody" in {p.pw_name for p in pwd.getpwall()} else None
IS_ROOT = os.geteuid() == 0

# linux/capability.h numbers of the privileges an ordinary user lacks.
_CAP_CHOWN, _CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER = 0, 1, 2, 3
_PR_CAPBSET_DROP = 24

# Started with a fresh, small interpreter; reports the command's own rusage on fd argv[1].
_RUNNER = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
report = [os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime, usage.ru_maxrss]
os.write(int(sys.argv[1]), json.dumps(report).encode())
"""


@attrs.frozen
class Measured:
    returncode: int
    stdout: bytes
    stderr: bytes
    cpu_seconds: float
    max_rss_bytes: int
    wall_seconds: float

    @property
    def output(self) -> bytes:
        return self.stdout + self.stderr

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.decode(errors="replace").splitlines() if line]


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "domxml_lint", *args]


def unprivileged() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes a root child as powerless as an ordinary user over files.

    It drops the capabilities to override file permissions, change owners and
    act as any file's owner from the bounding set, so after ``exec`` the child
    keeps uid 0 but the kernel checks permissions for it as for anyone else.
    (Switching to ``nobody`` would not do: the interpreter may live under /root.)
    Not root: nothing to drop, None.
    """
    if not IS_ROOT:
        return None
    if not can_drop_privileges():
        pytest.skip(
            "root here cannot drop capabilities (no CAP_SETPCAP), so it cannot act unprivileged"
        )
    return _drop_file_capabilities


def _drop_file_capabilities() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_CHOWN, _CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@functools.cache
def can_drop_privileges() -> bool:
    try:
        subprocess.run(
            [sys.executable, "-c", "pass"], preexec_fn=_drop_file_capabilities, check=True
        )
    except (subprocess.SubprocessError, OSError):
        return False
    return True


def run_measured(
    args: Sequence[str],
    *,
    timeout: float = 60,
    cwd: str | os.PathLike[str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> Measured:
    """Run ``args`` and return its output, exit code, CPU seconds and peak RSS.

    A command still running after ``timeout`` seconds is killed and the test
    fails: that is a hang.
    """
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    report_read, report_write = os.pipe()
    started = time.monotonic()

    process = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(report_write), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=full_env,
        pass_fds=(report_write,),
        preexec_fn=preexec_fn,
        start_new_session=True,
    )
    os.close(report_write)
    outputs: dict[str, bytes] = {}

    def drain(name: str, stream) -> None:
        outputs[name] = stream.read()
        stream.close()

    readers = [
        threading.Thread(target=drain, args=("stdout", process.stdout)),
        threading.Thread(target=drain, args=("stderr", process.stderr)),
    ]
    for reader in readers:
        reader.start()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(f"{' '.join(args)} still ran after {timeout} s: a hang") from None
    finally:
        for reader in readers:
            reader.join()
        with os.fdopen(report_read, "rb") as report:
            reported = report.read()
    wall = time.monotonic() - started
    assert process.returncode == 0 and reported, outputs.get("stderr", b"")[-2000:]
    returncode, cpu, max_rss_kib = json.loads(reported)
    return Measured(
        returncode=returncode,
        stdout=outputs["stdout"],
        stderr=outputs["stderr"],
        cpu_seconds=cpu,
        max_rss_bytes=max_rss_kib * 1024,  # Linux reports KiB
        wall_seconds=wall,
    )


def run_cli_measured(*args: str, **kwargs) -> Measured:
    return run_measured(cli_command(*args), **kwargs)
