"""Checking and fixing files: one by one, or in a process pool with ``--jobs``.

Each file is independent: it is read, linted (or fixed and written) and turned
into a :class:`~domxml_lint.report.FileResult` in the same process, so a pool
only changes who does the work. Results come back in input order, and the
output is formatted afterwards from them, so it is byte-identical to a serial
run.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from .config import FileSettings
from .document import Document, sniff_root_name
from .errors import DomxmlLintError, InputError, UsageError
from .fileio import read_file, write_atomic
from .fixer import fix_document
from .linter import Linter
from .plugins import load_ruleset
from .report import FileResult

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

#: With the default ``--jobs`` (auto), batches smaller than this run serially.
#: Measured on 2 CPUs with the corpus: starting and joining the pool costs
#: 15-40 ms and each file ~0.02 ms of transfer, against ~0.15 ms to lint it,
#: so the pool pays off from roughly a thousand files.
POOL_THRESHOLD = 1000


class Mode(NamedTuple):
    """What to do with each file: report, fix in place, or show the fix as a diff."""

    fix: bool = False
    diff: bool = False

    @property
    def fixing(self) -> bool:
        return self.fix or self.diff


class Task(NamedTuple):
    """One file to check: where to read it, how to show it, and its settings."""

    path: str
    settings: FileSettings
    display: str = ""

    @property
    def shown(self) -> str:
        return self.display or self.path


# One Linter per distinct settings, per process (workers inherit the parent's on fork).
_LINTERS: dict[FileSettings, Linter] = {}
_HOSTS: dict[tuple[str, ...], object] = {}


def linter_for(settings: FileSettings) -> Linter:
    """The Linter for these settings (built once; raises UsageError for bad settings)."""
    linter = _LINTERS.get(settings)
    if linter is None:
        ruleset = load_ruleset()
        rules = ruleset.select_layers(settings.selection)
        if settings.per_file_ignore:
            ignored = {r.code for s in settings.per_file_ignore for r in ruleset.matches(s)}
            rules = [r for r in rules if r.code not in ignored]
        host = load_host_files(settings.host) if settings.host else None
        linter = Linter(rules, ruleset, host=host, options=settings.rule_options)
        _LINTERS[settings] = linter
    return linter


def provide_host(label: str, host: object) -> tuple[str, ...]:
    """Make an already-built host (a live connection's) available as settings' ``host``.

    Returns the key to put in the settings; forked workers inherit it.
    """
    key = (f"<{label}>",)
    _HOSTS[key] = host
    return key


def load_host_files(paths: tuple[str, ...]) -> object:
    if paths not in _HOSTS:
        try:
            from .host import load_host
        except ModuleNotFoundError as exc:
            if exc.name not in ("domxml_lint.host", __package__ + ".host"):
                raise
            raise UsageError(
                "--host / host = needs host snapshot support (the domxml_lint.host module), "
                "which this installation lacks; install a release that has it, or drop --host"
            ) from None
        try:
            _HOSTS[paths] = load_host(*paths)
        except InputError as exc:  # a bad host file stops the run: exit 2, one line
            raise UsageError(str(exc)) from None
    return _HOSTS[paths]


def process(task: Task, mode: Mode, data: bytes | None = None) -> FileResult:
    """Lint, diff or fix one file; errors are recorded in the result, never raised.

    ``data`` given: the document came from elsewhere (stdin, a live libvirt
    domain); nothing is written, and the fixed bytes go to ``result.output``.
    """
    settings = task.settings
    result = FileResult(task.shown, unsafe=settings.unsafe_fixes, fail_on=settings.fail_on)
    in_memory = data is not None
    try:
        if data is None:
            data = read_file(task.path)
        root = sniff_root_name(data)
        if root not in ("domain", None):  # None: no root found; parsing says why (empty, binary)
            return _skip(result, root)
        doc = Document.parse(data, task.shown)
        if doc.root.tag != "domain":
            return _skip(result, doc.root.tag)
        linter = linter_for(settings)
        result.host_skipped = linter.skipped_codes
        if not mode.fixing:
            checked = linter.check(doc)
            result.findings, result.notes = checked.findings, checked.notes
            return result
        fixed = fix_document(doc, linter, unsafe=settings.unsafe_fixes)
        result.findings = list(fixed.remaining)
        result.applied = list(fixed.applied)
        result.changed = fixed.changed
        if fixed.changed and mode.diff:
            result.diff = unified_diff(task.shown, doc, fixed.data)
        elif fixed.changed and in_memory:
            result.output = fixed.data
        elif fixed.changed:
            # expected: refuse to overwrite a file that changed since it was read
            write_atomic(task.path, fixed.data, expected=data)
    except InputError as exc:
        result.error = exc
        result.findings = []
        result.applied = []
        result.changed = False
    except DomxmlLintError as exc:
        result.error = InputError(task.shown, str(exc))
        result.findings = []
    return result


def _skip(result: FileResult, root: str | None) -> FileResult:
    result.skipped = True
    result.skip_reason = (
        f"root element is <{root}>, not <domain>" if root else "no root element found"
    )
    return result


def unified_diff(path: str, doc: Document, new: bytes) -> str:
    import difflib  # only with --diff

    old_lines = doc.data.decode(doc.encoding, "replace").splitlines(keepends=True)
    new_lines = new.decode(doc.encoding, "replace").splitlines(keepends=True)
    name = path.lstrip("/")
    lines = difflib.unified_diff(old_lines, new_lines, f"a/{name}", f"b/{name}")
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def workers_for(jobs: int | None, files: int) -> int:
    """How many processes to use: 1 means serial.

    ``jobs`` None or 0 (auto): one per CPU, but serial below
    :data:`POOL_THRESHOLD` files. An explicit N > 1 is honoured for any batch
    of two or more files, capped at the number of files.
    """
    if files < 2:
        return 1
    if not jobs:
        return 1 if files < POOL_THRESHOLD else min(cpu_count(), files)
    return max(1, min(jobs, files))


def run_tasks(tasks: Sequence[Task], mode: Mode, jobs: int | None) -> list[FileResult]:
    """Process every task, in order; in a pool when :func:`workers_for` says so."""
    # Build every Linter (and load every host) first, so that bad settings fail
    # once, before any file is touched, and forked workers inherit them ready-made.
    for settings in dict.fromkeys(task.settings for task in tasks):
        linter_for(settings)
    workers = workers_for(jobs, len(tasks))
    if workers == 1:
        return [process(task, mode) for task in tasks]
    sys.stdout.flush()
    sys.stderr.flush()
    chunksize = max(1, min(32, len(tasks) // (workers * 4)))
    # Imported here: a serial run (most runs) does not pay for multiprocessing.
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # ProcessPoolExecutor, not multiprocessing.Pool: a worker that dies (killed,
    # out of memory) breaks the pool with an error instead of hanging the run.
    pool = ProcessPoolExecutor(
        workers, mp_context=_context(), initializer=_init_worker, initargs=(mode,)
    )
    try:
        results = list(pool.map(_process_in_worker, tasks, chunksize=chunksize))
    except BrokenProcessPool:
        _stop(pool)
        raise UsageError(
            "a worker process died while checking files (killed, or out of memory); files "
            "it was fixing are unchanged or fully fixed; run again with --jobs 1 to see which "
            "file it was"
        ) from None
    except BaseException:
        # Interrupted (SIGINT/SIGTERM): stop the workers; each one unwinds its
        # write in progress, so every file is either untouched or fully fixed.
        _stop(pool)
        raise
    pool.shutdown()
    return results


#: Seconds a worker gets to unwind after SIGTERM before it is killed.
STOP_GRACE = 3.0


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop every worker: SIGTERM (each unwinds its write in progress), then SIGKILL.

    The escalation matters: a worker can be stuck for good on a result-queue
    lock that a killed sibling held, and the pool's own SIGTERM only makes it
    retry the same put (concurrent.futures catches BaseException there).
    SIGKILL can leave a stray temporary file, never a half-written one.
    """
    workers = list((getattr(pool, "_processes", None) or {}).values())
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    for worker in workers:
        if worker.is_alive():
            worker.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def _context():
    # fork: workers start in milliseconds with the rules already loaded. Where
    # fork is unavailable, the default context re-imports and rebuilds.
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


_WORKER_MODE: Mode | None = None


def _init_worker(mode: Mode) -> None:
    global _WORKER_MODE
    _WORKER_MODE = mode


def _process_in_worker(task: Task) -> FileResult:
    assert _WORKER_MODE is not None
    return process(task, _WORKER_MODE)
