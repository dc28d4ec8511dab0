"""Running the real CLI in child processes: resource usage, other users, signals.

``run_measured`` reaps the child with ``os.wait4`` so that the CPU time and peak
RSS reported are that one child's, not the maximum over every child the test
session ever started (which is what ``getrusage(RUSAGE_CHILDREN)`` gives).
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

import attrs

NOBODY = pwd.getpwnam("nobody") if "nobody" in {p.pw_name for p in pwd.getpwall()} else None
IS_ROOT = os.geteuid() == 0


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


def as_nobody() -> Callable[[], None]:
    """A ``preexec_fn`` that drops to the unprivileged ``nobody`` user (needs root)."""
    assert NOBODY is not None and IS_ROOT

    def drop() -> None:
        os.setgroups([])
        os.setgid(NOBODY.pw_gid)
        os.setuid(NOBODY.pw_uid)

    return drop


def run_measured(
    args: Sequence[str],
    *,
    timeout: float = 60,
    cwd: str | os.PathLike[str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> Measured:
    """Run ``args``, collect its output, and reap it with wait4 for its own rusage.

    A child still running after ``timeout`` seconds is killed and the test fails:
    that is a hang.
    """
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    started = time.monotonic()
    process = subprocess.Popen(
        list(args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        preexec_fn=preexec_fn,
        env=full_env,
    )
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
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            process.returncode = -9
            for reader in readers:
                reader.join()
            raise AssertionError(f"{' '.join(args)} still ran after {timeout} s: a hang")
        time.sleep(0.005)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return Measured(
        returncode=process.returncode,
        stdout=outputs["stdout"],
        stderr=outputs["stderr"],
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_bytes=usage.ru_maxrss * 1024,  # Linux reports KiB
        wall_seconds=wall,
    )


def run_cli_measured(*args: str, **kwargs) -> Measured:
    return run_measured(cli_command(*args), **kwargs)

