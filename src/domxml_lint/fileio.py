"""Reading inputs and writing fixed files atomically, keeping mode, owner and symlinks."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import stat
import threading
import time
from collections.abc import Iterator

from .document import MAX_FILE_BYTES
from .errors import InputError

TEMP_SUFFIX = ".domxml-lint.tmp"

#: How long to wait for another domxml-lint run that is writing the same file.
LOCK_WAIT_SECONDS = 10.0

# Signals that would otherwise stop the process between creating and renaming the temporary file.
#: The signals that interrupt a run (cli unwinds on each); held back around critical steps.
INTERRUPTING_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT}


def read_file(path: str) -> bytes:
    """The file's bytes, or an InputError saying what is wrong and what to do.

    Only regular files are read: a FIFO named ``vm.xml`` would block forever and
    ``/dev/zero`` never ends. At most ``MAX_FILE_BYTES + 1`` bytes are read, so an
    oversized file is refused without reading all of it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError(path, "no such file", hint="check the path") from None
    except IsADirectoryError:
        raise InputError(
            path, "is a directory", hint="pass files, or a directory to search"
        ) from None
    except PermissionError:
        raise InputError(
            path, "permission denied while reading", hint="check the file's permissions"
        ) from None
    except OSError as exc:
        raise InputError(
            path, f"cannot read: {exc.strerror or exc}", hint="check the path"
        ) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(path, "is a directory", hint="pass files, or a directory to search")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                path,
                "is not a regular file (a pipe, socket or device), so it was not read",
                hint="pass the domain XML file itself",
            )
        # A regular file ignores O_NONBLOCK. One read sized from fstat gets it all
        # (a short read is EOF); a large fixed request would allocate that much
        # per file. Only a file that grew since fstat needs more reads.
        limit = MAX_FILE_BYTES + 1
        first = os.read(fd, min(limit, info.st_size + 1))
        if len(first) <= info.st_size or len(first) == limit:
            return first
        chunks = [first]
        remaining = limit - len(first)
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(
            path, f"cannot read: {exc.strerror or exc}", hint="check the file"
        ) from None
    finally:
        os.close(fd)


def write_atomic(path: str, data: bytes, *, expected: bytes | None = None) -> bool:
    """Replace ``path``'s content with ``data`` atomically; return whether it was written.

    A temporary file in the same directory is written, flushed and fsynced,
    given the original's mode, owner and extended attributes (SELinux label,
    ACL), then renamed over the original, so the file is at every moment
    either fully old or fully new. A symlink stays a symlink: its target is
    replaced. SIGINT, SIGTERM, SIGHUP and SIGQUIT wait until the rename is
    done, so no temporary file is left behind.

    Refused with an :class:`InputError`, leaving the file unchanged: a
    read-only file, a file with other hard links (renaming would split them),
    a file whose owner or group the new file could not be given, and, when
    ``expected`` (the bytes the fix was computed from) is given, a file that
    changed meanwhile. Concurrent domxml-lint runs take an exclusive
    ``flock`` on the file; if another run already wrote ``data``, nothing is
    written and False is returned.
    """
    real = os.path.realpath(path)
    with _locked(path, real) as (fd, info):
        if expected is not None:
            current = _read_all(fd)
            if current == data:
                return False  # another run wrote the same fix first
            if current != expected:
                raise InputError(
                    path,
                    "changed while domxml-lint was fixing it, so the fix was not written",
                    hint="run domxml-lint again",
                )
        _check_writable(path, real, info)
        with signals_deferred():
            _replace(path, real, data, info)
    return True


@contextlib.contextmanager
def _locked(path: str, real: str) -> Iterator[tuple[int, os.stat_result]]:
    """An fd on the live file at ``real`` holding an exclusive flock.

    Another run may rename a new file over ``real`` while we wait for the lock
    on the old one, so the lock is retaken until it is on the file that is
    actually there.
    """
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise InputError(
                path, f"cannot write: {exc.strerror or exc}", hint="check the path"
            ) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise InputError(
                    path,
                    "is not a regular file, so the fix was not written",
                    hint="fix the domain XML file itself",
                )
            _lock(fd, path, deadline)
            try:
                live = os.stat(real)
            except OSError:
                live = None
            if live is not None and (live.st_ino, live.st_dev) == (info.st_ino, info.st_dev):
                yield fd, info
                return
        finally:
            os.close(fd)  # also releases the lock


def _lock(fd: int, path: str, deadline: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise InputError(
                    path,
                    f"another domxml-lint run has been writing it for over "
                    f"{LOCK_WAIT_SECONDS:g} s, "
                    "so the fix was not written",
                    hint="wait for the other run and try again",
                ) from None
            time.sleep(0.01)
        except OSError as exc:
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                return  # the filesystem has no locks: the content check still guards
            raise InputError(
                path, f"cannot lock: {exc.strerror or exc}", hint="check the file"
            ) from None


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    os.set_blocking(fd, True)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _check_writable(path: str, real: str, info: os.stat_result) -> None:
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(
        real, os.W_OK
    ):
        raise InputError(
            path,
            "is read-only, so the fix was not written",
            hint="make it writable (chmod u+w) or run without --fix",
        )
    if info.st_nlink > 1:
        raise InputError(
            path,
            f"has {info.st_nlink} hard links; replacing it would leave the other names with the "
            "old content, so the fix was not written",
            hint="fix one copy (`cp --remove-destination`) or use a symlink",
        )


def _replace(path: str, real: str, data: bytes, info: os.stat_result) -> None:
    directory, name = os.path.split(real)
    import tempfile  # only runs that write pay for it

    try:
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=TEMP_SUFFIX, dir=directory)
    except OSError as exc:
        raise InputError(
            path,
            f"cannot create a temporary file beside it: {exc.strerror or exc}",
            hint="the directory must be writable for --fix",
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            try:
                os.fchown(handle.fileno(), info.st_uid, info.st_gid)
            except PermissionError:
                raise _ownership_error(path, info, os.fstat(handle.fileno())) from None
            os.fchmod(
                handle.fileno(), stat.S_IMODE(info.st_mode)
            )  # after chown, which clears setgid
            _copy_xattrs(real, handle.fileno())
        os.replace(temp, real)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise InputError(
                path,
                f"cannot write the fixed file: {exc.strerror or exc}; the original is unchanged",
                hint="check free space and permissions",
            ) from None
        raise
    if _deferred_directories is None:
        _fsync_directory(directory)
    else:
        _deferred_directories[directory] = None


#: Directories whose renames await their fsync, while :func:`directory_syncs_deferred` is
#: active (in insertion order); None: each write syncs its directory at once.
_deferred_directories: dict[str, None] | None = None


@contextlib.contextmanager
def directory_syncs_deferred() -> Iterator[None]:
    """Sync each directory written into once, when the block ends, instead of after every
    rename.

    Each file is still written to a temporary file and fsynced before the rename, so it is
    whole, old or new, at every moment, crash included; only the rename's own durability
    waits for the end of the block (one fsync per directory instead of one per file, which
    was a quarter of a ``--fix`` run). The syncs run however the block ends.
    """
    global _deferred_directories
    outer, _deferred_directories = _deferred_directories, {}
    try:
        yield
    finally:
        pending, _deferred_directories = _deferred_directories, outer
        for directory in pending:
            _fsync_directory(directory)


def _ownership_error(path: str, info: os.stat_result, temp: os.stat_result) -> InputError:
    if temp.st_uid != info.st_uid:
        what, hint = f"is owned by uid {info.st_uid}", "run as the file's owner or as root"
    else:
        what, hint = f"belongs to group {info.st_gid}", "run as root or as a member of that group"
    return InputError(
        path, f"{what}, which a fixed copy could not keep, so the fix was not written", hint=hint
    )


def _copy_xattrs(source: str, target_fd: int) -> None:
    """Extended attributes (SELinux label, POSIX ACLs, user.*), where the filesystem allows."""
    if not hasattr(os, "listxattr"):  # not Linux
        return
    try:
        names = os.listxattr(source)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(target_fd, name, os.getxattr(source, name))
        except OSError:
            pass  # e.g. a security.* name we may not set; the rest is still copied


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back interrupting signals until the block ends (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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
