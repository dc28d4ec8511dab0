"""Writing fixed files: atomic, faithful to mode, owner, xattrs and symlinks, never half done.

Everything runs the real CLI in child processes on real files. Interruptions
are real signals sent to a real ``--fix`` run, both at spread-out moments and
at the moment a temporary file is seen on disk (the process is then inside
the write); every file must be byte-for-byte the old or the new content.
"""

from __future__ import annotations

import fcntl
import os
import resource
import shutil
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

import domxml_lint
from domxml_lint import fileio
from domxml_lint.errors import InputError
from domxml_lint.fileio import TEMP_SUFFIX, write_atomic
from helpers import RULE_FIXTURES
from processes import IS_ROOT, cli_command, run_cli_measured, unprivileged
from samples import CORE

TRIGGER = RULE_FIXTURES / "io-native-needs-direct-cache" / "trigger-tabs.xml"
CLEAN = RULE_FIXTURES / "disk-cache-unsafe" / "clean.xml"
UNFIXABLE = RULE_FIXTURES / "cpuset-invalid" / "trigger.xml"

# One disk with a safe fix (DX404) and one with an unsafe fix (DX401).
BOTH_FIXES = """<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>2</vcpu>
  <!--{padding}-->
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' io='native'/>
      <source file='/var/lib/libvirt/images/{name}-a.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='unsafe'/>
      <source file='/var/lib/libvirt/images/{name}-b.qcow2'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
  </devices>
</domain>
"""


def temp_files(*directories: Path) -> list[Path]:
    return [p for d in directories for p in d.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def fixed_bytes(data: bytes, *, unsafe: bool = False) -> bytes:
    result = domxml_lint.fix(data, unsafe=unsafe).data
    assert result != data
    return result


@pytest.fixture
def trigger(tmp_path) -> tuple[Path, bytes, bytes]:
    target = tmp_path / "vm.xml"
    shutil.copy(TRIGGER, target)
    old = target.read_bytes()
    return target, old, fixed_bytes(old)


# -- atomic replacement ----------------------------------------------------------------------


def test_fix_replaces_the_file_by_rename(trigger):
    target, _old, new = trigger
    before = set(target.parent.iterdir())
    inode = target.stat().st_ino
    result = run_cli_measured("--fix", str(target))
    assert result.returncode == 0, result.output
    assert target.read_bytes() == new
    assert target.stat().st_ino != inode, "a new file was renamed over the old one"
    assert set(target.parent.iterdir()) == before and not temp_files(target.parent)


def test_temporary_file_lives_beside_the_original(tmp_path):
    # In an unwritable directory no temporary file can be made beside the file, so the
    # fix is refused even though the file itself is writable: the temp file is not elsewhere.
    directory = tmp_path / "ro-dir"
    directory.mkdir()
    target = directory / "vm.xml"
    shutil.copy(TRIGGER, target)
    old = target.read_bytes()
    directory.chmod(0o555)
    try:
        result = run_cli_measured("--fix", str(target), preexec_fn=unprivileged())
    finally:
        directory.chmod(0o755)
    if not IS_ROOT and os.access(directory, os.W_OK):
        pytest.skip("cannot make a directory unwritable here")
    assert result.returncode == 2
    assert "cannot create a temporary file beside it" in result.stderr.decode()
    assert target.read_bytes() == old and not temp_files(directory)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o604])
def test_mode_owner_and_group_are_kept(trigger, mode):
    target, _old, new = trigger
    target.chmod(mode)
    owner = (1234, 5678) if IS_ROOT else (os.getuid(), os.getgid())
    if IS_ROOT:
        os.chown(target, *owner)
    result = run_cli_measured("--fix", str(target))
    assert result.returncode == 0, result.output
    info = target.stat()
    assert target.read_bytes() == new
    assert stat.S_IMODE(info.st_mode) == mode
    assert (info.st_uid, info.st_gid) == owner


def test_extended_attributes_are_kept(trigger):
    target, _old, new = trigger
    try:
        os.setxattr(target, "user.domxml-lint-test", b"kept")
    except OSError as exc:
        pytest.skip(f"no user xattrs on this filesystem: {exc}")
    result = run_cli_measured("--fix", str(target))
    assert result.returncode == 0
    assert target.read_bytes() == new
    assert os.getxattr(target, "user.domxml-lint-test") == b"kept"


def test_symlinks_stay_symlinks_and_their_target_is_fixed(tmp_path):
    store, vms = tmp_path / "store", tmp_path / "vms"
    store.mkdir()
    vms.mkdir()
    real = store / "real.xml"
    shutil.copy(TRIGGER, real)
    new = fixed_bytes(real.read_bytes())
    (vms / "relative.xml").symlink_to("../store/real.xml")
    (vms / "chain.xml").symlink_to(vms / "relative.xml")
    for link in ("chain.xml", "relative.xml"):
        shutil.copy(TRIGGER, real)
        result = run_cli_measured("--fix", str(vms / link))
        assert result.returncode == 0, result.output
        assert real.read_bytes() == new and not real.is_symlink()
        assert os.readlink(vms / "relative.xml") == "../store/real.xml"
        assert os.readlink(vms / "chain.xml") == str(vms / "relative.xml")
    assert not temp_files(store, vms)


def test_unchanged_files_are_never_rewritten(tmp_path):
    clean, unfixable = tmp_path / "clean.xml", tmp_path / "unfixable.xml"
    shutil.copy(CLEAN, clean)
    shutil.copy(UNFIXABLE, unfixable)
    stamps = {}
    for path in (clean, unfixable):
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
        stamps[path] = (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes())
    # Pinned to the core rules: later rules may well find something to fix in CLEAN.
    for args in (["--fix"], ["--fix", "--unsafe-fixes"], ["--diff"]):
        args = [*args, "--select", CORE]
        result = run_cli_measured(*args, str(tmp_path))
        assert result.returncode in (0, 1), result.output
        for path, (inode, mtime, data) in stamps.items():
            assert (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes()) == (
                inode,
                mtime,
                data,
            )


# -- refusals: the file stays as it was --------------------------------------------------------


def _assert_refused(result, path: Path, fragment: str) -> None:
    assert result.returncode == 2, result.output
    lines = [line for line in result.error_lines if str(path) in line]
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert lines[0].endswith(")"), "the error says what to do, in parentheses"


@pytest.mark.parametrize("privileged", [True, False])
def test_read_only_file_is_refused_and_unchanged(tmp_path, privileged):
    target = tmp_path / "ro.xml"
    shutil.copy(TRIGGER, target)
    target.chmod(0o444)
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    old = target.read_bytes()
    good = tmp_path / "good.xml"
    shutil.copy(TRIGGER, good)
    result = run_cli_measured(
        "--fix", str(target), str(good), preexec_fn=None if privileged else unprivileged()
    )
    _assert_refused(result, target, "is read-only, so the fix was not written")
    assert "chmod u+w" in result.stderr.decode()
    assert target.read_bytes() == old and stat.S_IMODE(target.stat().st_mode) == 0o444
    assert target.stat().st_mtime_ns == 1_000_000_000
    assert good.read_bytes() == fixed_bytes(old), "the other file is still fixed"


def test_hard_linked_file_is_refused(trigger):
    target, old, _new = trigger
    other = target.with_name("other-name.xml")
    os.link(target, other)
    result = run_cli_measured("--fix", str(target))
    _assert_refused(result, target, "has 2 hard links")
    assert target.read_bytes() == old and other.read_bytes() == old
    assert target.stat().st_ino == other.stat().st_ino


@pytest.mark.skipif(not IS_ROOT, reason="needs root to give files to another owner")
@pytest.mark.parametrize(
    "owner,fragment",
    [((65534, 65534), "is owned by uid 65534"), ((0, 5678), "belongs to group 5678")],
)
def test_owner_a_copy_could_not_keep_is_refused(tmp_path, owner, fragment):
    # The child may write the file (mode 0666) but, lacking CAP_CHOWN like any ordinary
    # user, cannot give a new file that owner or group: replacing it would change them.
    target = tmp_path / "vm.xml"
    shutil.copy(TRIGGER, target)
    os.chown(target, *owner)
    target.chmod(0o666)
    old = target.read_bytes()
    result = run_cli_measured("--fix", str(target), preexec_fn=unprivileged())
    _assert_refused(result, target, fragment)
    assert target.read_bytes() == old and (target.stat().st_uid, target.stat().st_gid) == owner
    assert not temp_files(tmp_path)


def test_write_failure_leaves_the_original_and_no_temp_file(tmp_path):
    # RLIMIT_FSIZE makes the kernel fail the write with EFBIG, as a full disk fails with ENOSPC.
    big = tmp_path / "big.xml"
    big.write_bytes(
        TRIGGER.read_bytes().replace(b"<devices>", b"<!--" + b"x" * 200_000 + b"-->\n\t<devices>")
    )
    small = tmp_path / "small.xml"
    shutil.copy(TRIGGER, small)
    old_big, old_small = big.read_bytes(), small.read_bytes()
    limit = 64 * 1024

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = run_cli_measured("--fix", str(big), str(small), preexec_fn=limit_file_size)
    _assert_refused(
        result, big, "cannot write the fixed file: File too large; the original is unchanged"
    )
    assert big.read_bytes() == old_big
    assert small.read_bytes() == fixed_bytes(old_small)
    assert not temp_files(tmp_path)


# -- write_atomic's guards against other writers (in-process, real files) ------------------------


def test_file_changed_since_it_was_read_is_not_overwritten(trigger):
    target, old, new = trigger
    edited = old.replace(b"<name>io</name>", b"<name>edited-meanwhile</name>")
    target.write_bytes(edited)
    with pytest.raises(InputError, match="changed while domxml-lint was fixing it"):
        write_atomic(str(target), new, expected=old)
    assert target.read_bytes() == edited


def test_file_already_holding_the_fix_is_left_alone(trigger):
    target, old, new = trigger
    target.write_bytes(new)
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    assert write_atomic(str(target), new, expected=old) is False
    assert target.stat().st_mtime_ns == 1_000_000_000


def test_writer_waits_for_the_lock_of_another_run(trigger):
    target, old, new = trigger
    holder = os.open(target, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    process = subprocess.Popen(
        cli_command("--fix", str(target)), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        time.sleep(1.0)
        assert target.read_bytes() == old, "wrote while another run held the lock"
    finally:
        os.close(holder)  # releases the lock
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert target.read_bytes() == new


def test_lock_held_too_long_is_an_error(trigger, monkeypatch):
    target, old, new = trigger
    monkeypatch.setattr(fileio, "LOCK_WAIT_SECONDS", 0.2)
    holder = os.open(target, os.O_RDONLY)  # a second open file description: flock conflicts
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(InputError, match="another domxml-lint run has been writing it"):
            write_atomic(str(target), new, expected=old)
    finally:
        os.close(holder)
    assert target.read_bytes() == old


# -- interrupted runs ------------------------------------------------------------------------


class Batch:
    """Many domain files, large enough that writing each takes a while, with their fixes."""

    def __init__(self, directory: Path, count: int = 36) -> None:
        self.directory = directory
        directory.mkdir()
        self.old: dict[Path, bytes] = {}
        self.new: dict[Path, bytes] = {}
        self.full: dict[Path, bytes] = {}
        for index in range(count):
            path = directory / f"vm{index:03d}.xml"
            padding = " padding" * (20_000 * (1 + index % 6))  # 160 KB to 1 MB
            data = BOTH_FIXES.format(name=f"vm{index:03d}", padding=padding).encode()
            path.write_bytes(data)
            self.old[path] = data
            self.new[path] = fixed_bytes(data)
            self.full[path] = fixed_bytes(data, unsafe=True)

    def reset(self) -> None:
        for path in self.directory.iterdir():
            path.unlink()
        for path, data in self.old.items():
            path.write_bytes(data)

    def states(self) -> dict[str, int]:
        """How many files are old, safe-fixed, fully fixed; fails on anything else."""
        counts = {"old": 0, "new": 0, "full": 0}
        for path in self.old:
            data = path.read_bytes()
            state = next(
                (
                    name
                    for name, table in (("old", self.old), ("new", self.new), ("full", self.full))
                    if table[path] == data
                ),
                None,
            )
            assert state is not None, f"{path.name} is neither old nor fixed: a half-written file"
            counts[state] += 1
        return counts


def _run_and_signal(batch: Batch, signum: int, *, delay: float | None) -> tuple[int, bool, bool]:
    """Start ``--fix``; send ``signum`` after ``delay`` s, or as soon as a temp file exists.

    Returns the exit status, whether a temporary file was seen when the signal
    went, and whether the signal went at all (the run may have finished first).
    """
    process = subprocess.Popen(
        cli_command("--fix", str(batch.directory)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    seen_temp = False
    if delay is not None:
        time.sleep(delay)
    else:
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline:
            if any(name.endswith(TEMP_SUFFIX) for name in os.listdir(batch.directory)):
                seen_temp = True
                break
    sent = process.poll() is None
    if sent:
        process.send_signal(signum)
    _out, err = process.communicate(timeout=60)
    if b"Traceback" in err and process.returncode != 1:  # 1: finished; interpreter exiting
        # Ctrl-C while the interpreter is still importing, before the CLI's handler exists:
        # Python's own report; nothing can have been written yet.
        assert signum == signal.SIGINT and err.rstrip().endswith(b"KeyboardInterrupt"), err.decode()
        assert batch.states() == {"old": len(batch.old), "new": 0, "full": 0}
        return 130, seen_temp, sent
    return process.returncode, seen_temp, sent


# Exit status after the signal: the CLI's own, or the default action's before it took over.
EXPECTED_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129, signal.SIGKILL: -9}


@pytest.fixture(scope="module")
def full_run_seconds(tmp_path_factory) -> float:
    batch = Batch(tmp_path_factory.mktemp("timing") / "files")
    started = time.monotonic()
    result = subprocess.run(cli_command("--fix", str(batch.directory)), capture_output=True)
    assert result.returncode == 1, result.stderr  # the unsafe findings remain
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_at_spread_out_moments_leaves_every_file_old_or_new(
    tmp_path, signum, full_run_seconds
):
    batch = Batch(tmp_path / "files")
    mixed = 0
    for fraction in (0.05, 0.25, 0.45, 0.65, 0.85):
        batch.reset()
        status, _, sent = _run_and_signal(batch, signum, delay=full_run_seconds * fraction)
        states = batch.states()
        if sent and status == 1:
            # The signal arrived while the interpreter was exiting after a finished run
            # (handlers no longer run then): allowed only if the run really had finished.
            assert states["new"] == len(batch.old), (status, states)
        else:
            assert status in (EXPECTED_STATUS[signum], -signum) if sent else status == 1
        assert states["full"] == 0, "unsafe fixes were not asked for"
        assert not temp_files(batch.directory), "a signal left a temporary file behind"
        mixed += states["old"] > 0 and states["new"] > 0
    assert mixed, "no signal landed mid-run: the moments tested nothing"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_while_a_temp_file_exists_leaves_every_file_old_or_new(tmp_path, signum):
    batch = Batch(tmp_path / "files")
    caught = 0
    for _ in range(4):
        batch.reset()
        status, seen, sent = _run_and_signal(batch, signum, delay=None)
        batch.states()
        assert not temp_files(batch.directory), "the interrupted write left its temporary file"
        if seen and sent:
            caught += 1
            # held until the rename, then honoured: the run stops with the signal's status
            assert status == EXPECTED_STATUS[signum], status
    assert caught, "never signalled while a temporary file existed: the window was not exercised"


@pytest.mark.slow
def test_sigkill_mid_write_leaves_the_original_and_a_hidden_leftover(tmp_path):
    # SIGKILL cannot be caught: the temporary file stays, but every file is old or new, the
    # leftover is hidden and not *.xml, and the next run fixes everything regardless.
    batch = Batch(tmp_path / "files")
    for _ in range(6):
        batch.reset()
        status, seen, sent = _run_and_signal(batch, signal.SIGKILL, delay=None)
        batch.states()
        leftovers = temp_files(batch.directory)
        if seen and sent and leftovers:
            assert status == -9
            break
    else:
        pytest.fail("never killed the run inside a write")
    assert all(p.name.startswith(".") and not p.name.endswith(".xml") for p in leftovers)
    result = run_cli_measured("--fix", str(batch.directory), timeout=120)
    assert result.returncode == 1, result.output  # only the unsafe findings remain
    assert batch.states() == {"old": 0, "new": len(batch.old), "full": 0}


# -- concurrent runs ---------------------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_identical_runs_agree(tmp_path):
    batch = Batch(tmp_path / "files", count=24)
    for _ in range(3):
        batch.reset()
        processes = [
            subprocess.Popen(
                cli_command("--fix", str(batch.directory)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        errors = [p.communicate(timeout=120)[1] for p in processes]
        assert [p.returncode for p in processes] == [1, 1, 1], errors  # unsafe findings remain
        assert errors == [b"", b"", b""]
        assert batch.states() == {"old": 0, "new": len(batch.old), "full": 0}
        assert not temp_files(batch.directory)


@pytest.mark.slow
def test_concurrent_different_runs_lose_nothing(tmp_path):
    batch = Batch(tmp_path / "files", count=24)
    for _ in range(3):
        batch.reset()
        argsets = (["--fix"], ["--fix", "--unsafe-fixes"], ["--fix"], ["--fix", "--unsafe-fixes"])
        processes = [
            subprocess.Popen(
                cli_command(*args, str(batch.directory)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for args in argsets
        ]
        for process in processes:
            err = process.communicate(timeout=120)[1].decode()
            assert process.returncode in (0, 1, 2)
            for line in err.splitlines():
                # the only complaint allowed: a file another run changed first
                assert "changed while domxml-lint was fixing it" in line, line
        batch.states()  # every file is old, safe-fixed or fully fixed: nothing half-written
        assert not temp_files(batch.directory)
        settle = run_cli_measured("--fix", "--unsafe-fixes", str(batch.directory), timeout=120)
        assert settle.returncode == 0, settle.output
        assert batch.states() == {"old": 0, "new": 0, "full": len(batch.old)}


def test_signals_are_held_only_around_the_write(trigger):
    """write_atomic restores the signal mask, so Ctrl-C works again right after a write."""
    target, old, new = trigger
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    write_atomic(str(target), new, expected=old)
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before
    assert threading.current_thread() is threading.main_thread()


# -- directory syncs, one per directory per process --------------------------------------------

#: A child that logs every fsync (the path of the fd) to a file, then runs the CLI.
FSYNC_LOGGER = """
import os, sys
log = open(sys.argv[1], "a", buffering=1)
real_fsync = os.fsync

def logged_fsync(fd):
    real_fsync(fd)
    log.write(f"{os.getpid()} {os.readlink(f'/proc/self/fd/{fd}')}\\n")

os.fsync = logged_fsync
sys.argv = ["domxml-lint", *sys.argv[2:]]
from domxml_lint import cli
cli.main()
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_fix_syncs_each_file_before_its_rename_and_each_directory_once(tmp_path, jobs):
    files = tmp_path / "files"
    files.mkdir()
    targets = [files / f"vm{i}.xml" for i in range(6)]
    for target in targets:
        shutil.copy(TRIGGER, target)
    expected = fixed_bytes(TRIGGER.read_bytes())
    log = tmp_path / "fsync.log"
    result = subprocess.run(
        [
            *cli_command()[:1],
            "-c",
            FSYNC_LOGGER,
            str(log),
            "--no-config",
            "--fix",
            "--jobs",
            jobs,
            str(files),
        ],
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr
    assert all(target.read_bytes() == expected for target in targets)
    assert not temp_files(files)
    synced = [line.split(" ", 1) for line in log.read_text().splitlines()]
    # Every fixed file's temporary copy was synced before it was renamed over the file.
    assert sum(path.endswith(TEMP_SUFFIX) for _, path in synced) == len(targets)
    by_process: dict[str, list[str]] = {}
    for pid, path in synced:
        by_process.setdefault(pid, []).append(path)
    for paths in by_process.values():
        directory_syncs = [i for i, path in enumerate(paths) if path == str(files)]
        # One directory sync per process that wrote there, after all of its renames.
        assert len(directory_syncs) == 1
        assert directory_syncs[0] == len(paths) - 1
