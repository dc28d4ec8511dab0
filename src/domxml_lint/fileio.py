"""Reading inputs and writing fixed files atomically, keeping mode, owner and symlinks."""

from __future__ import annotations

import os
import signal
import stat
import threading

from .document import MAX_FILE_BYTES
from .errors import InputError

TEMP_SUFFIX = ".domxml-lint.tmp"


def read_file(path: str) -> bytes:
    """The file's bytes (at most one past the size limit), or an InputError saying what to do.

    Reads with os.read sized from fstat: ``open().read(limit)`` would allocate
    a buffer of the whole limit for every small file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            size = os.fstat(fd).st_size
            remaining = MAX_FILE_BYTES + 1
            chunks = []
            while remaining > 0:
                chunk = os.read(fd, min(remaining, max(size + 1, 65536)))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise InputError(path, "no such file", hint="check the path") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory", hint="pass files, or a directory to search") from None
    except PermissionError:
        raise InputError(
            path, "permission denied while reading", hint="check the file's permissions"
        ) from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}", hint="check the path") from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def write_atomic(path: str, data: bytes) -> None:
    """Replace ``path``'s content with ``data`` atomically.

    A temporary file in the same directory is written, flushed and fsynced,
    given the original's mode and owner, then renamed over the original, so
    the file is at every moment either fully old or fully new. A symlink stays
    a symlink: its target is replaced. A read-only file is refused.
    """
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except OSError as exc:
        raise InputError(path, f"cannot write: {exc.strerror or exc}", hint="check the path") from None
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(real, os.W_OK):
        raise InputError(
            path,
            "is read-only, so the fix was not written",
            hint="make it writable (chmod u+w) or run without --fix",
        )
    directory, name = os.path.split(real)
    # Hold SIGINT/SIGTERM while the temporary file is created: a handler run
    # right after mkstemp's open() (where they mostly land) would leave it behind.
    held = _hold_interrupts()
    try:
        import tempfile  # only runs that write pay for it

        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=TEMP_SUFFIX, dir=directory)
    except OSError as exc:
        _release_interrupts(held)
        raise InputError(
            path,
            f"cannot create a temporary file beside it: {exc.strerror or exc}",
            hint="the directory must be writable for --fix",
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            _release_interrupts(held)  # a held interrupt lands here, where cleanup covers it
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), stat.S_IMODE(info.st_mode))
            try:
                os.fchown(handle.fileno(), info.st_uid, info.st_gid)
            except PermissionError:
                pass  # not root: the file keeps our ownership, as editors do
        os.replace(temp, real)
    except BaseException:
        _release_interrupts(held)
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


_INTERRUPTS = frozenset({signal.SIGINT, signal.SIGTERM})


def _hold_interrupts() -> set[signal.Signals] | None:
    """Block SIGINT and SIGTERM (main thread, POSIX); returns the mask to restore."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)


def _release_interrupts(held: set[signal.Signals] | None) -> None:
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
