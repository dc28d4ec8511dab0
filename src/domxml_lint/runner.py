"""Checking and fixing files: one by one, or shared among processes with ``--jobs``.

Each file is independent: it is read, linted (or fixed and written) and turned
into a :class:`~domxml_lint.report.FileResult` in the same process, so sharing
only changes who does the work. Results come back in input order, and the
output is formatted afterwards from them, so it is byte-identical to a serial
run.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from ._records import NamedTuple
from .config import FileSettings
from .document import Document, sniff_root_name
from .errors import DomxmlLintError, FixNotWritten, InputError, UsageError
from .facts import DomainFacts
from .fileio import (
    INTERRUPTING_SIGNALS,
    directory_syncs_deferred,
    read_file,
    signals_deferred,
    write_atomic,
)
from .findings import Finding
from .fixer import FixResult, Span, fix_document
from .guests import GuestFacts, collect_guest
from .linter import Linter
from .plan import RunPlan
from .report import FileResult

#: With the default ``--jobs`` (auto), batches smaller than this run serially.
#: Measured on 2 CPUs with corpus files: two processes break even with one at
#: about 200 files (forking and sending results back cost ~10 ms) and are 1.16x
#: faster at 400.
POOL_THRESHOLD = 300


class Mode(NamedTuple):
    """What to do with each file: report, fix in place, or show the fix as a diff."""

    fix: bool = False
    diff: bool = False
    #: Keep each document's text in its result, for formats that show lines (full, rdjson).
    keep_source: bool = False
    #: Build the edits of the findings' fixes, for formats that carry them (json, sarif,
    #: rdjson); without, each result drops their builders (and the document they hold).
    edits: bool = True

    @property
    def fixing(self) -> bool:
        return self.fix or self.diff


class Task(NamedTuple):
    """One file to check: where to read it, how to show it, and its settings."""

    path: str
    settings: FileSettings
    display: str = ""
    #: ``file``, or ``domain`` for a live libvirt domain's definition (the summary says so).
    kind: str = "file"

    @property
    def shown(self) -> str:
        return self.display or self.path


def process(
    task: Task,
    mode: Mode,
    plan: RunPlan,
    data: bytes | None = None,
    writes: BackgroundWrites | None = None,
) -> FileResult:
    """Lint, diff or fix one file; errors are recorded in the result, never raised.

    ``data`` given: the document came from elsewhere (stdin, a live libvirt
    domain); nothing is written, and the fixed bytes go to ``result.output``.
    ``writes`` given: a fixed file is written on its thread, and the result is final
    only once ``writes`` has finished it (:meth:`BackgroundWrites.finish`).
    """
    settings = task.settings
    result = FileResult(
        task.shown, unsafe=settings.unsafe_fixes, fail_on=settings.fail_on, kind=task.kind
    )
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
        linter = plan.linter(settings)
        result.host_skipped = linter.skipped_codes
        if mode.keep_source:
            result.source, result.encoding = data, doc.encoding
        if not mode.fixing:
            checked = linter.check(doc)
            _settle(checked.findings, mode.edits)
            result.findings, result.notes = checked.findings, checked.notes
            result.not_applicable = checked.not_applicable
            if linter.plan_rules and checked.facts is not None:
                result.guest = _guest(doc, checked.facts, task, linter)
            return result
        fixed = fix_document(doc, linter, unsafe=settings.unsafe_fixes)
        if linter.plan_rules:  # plan rules see the guest as it is after the fix
            final = Document.parse(fixed.data, task.shown) if fixed.changed else doc
            result.guest = _guest(final, DomainFacts(final), task, linter)
        if mode.keep_source:
            result.source = fixed.data  # what the remaining findings point into
        result.findings = _settle(list(fixed.remaining), mode.edits)
        result.applied = list(fixed.applied)
        result.changed = fixed.changed
        if fixed.changed and mode.diff:
            result.diff = unified_diff(task.shown, doc, fixed.data, fixed.kept)
        elif fixed.changed and in_memory:
            result.output = fixed.data
        elif fixed.changed and writes is not None:
            writes.submit(result, _Write(task, mode, linter, doc, data, fixed))
        elif fixed.changed:
            _Write(task, mode, linter, doc, data, fixed).finish(result, _written(task, fixed, data))
    except InputError as exc:
        result.error = exc
        result.findings = []
        result.applied = []
        result.changed = False
    except DomxmlLintError as exc:
        result.error = InputError(task.shown, str(exc))
        result.findings = []
    return result


def _settle(findings: list[Finding], edits: bool) -> list[Finding]:
    """Build the fixes' edits now if the output shows them, else drop their builders: either
    way no finding keeps its document alive until the run ends."""
    for finding in findings:
        if finding.fix is not None:
            finding.fix.settle(edits)
    return findings


class _Write(NamedTuple):
    """A fixed file to write, and what its result needs if the write fails."""

    task: Task
    mode: Mode
    linter: Linter
    doc: Document
    data: bytes
    fixed: FixResult

    def finish(self, result: FileResult, error: InputError | None) -> None:
        """Record a failed write in ``result``: nothing was written, so the file's findings
        all still stand."""
        if error is None:
            return
        result.applied, result.changed = [], False
        result.source = self.data if self.mode.keep_source else None
        try:
            # the original's whole check
            result.findings = _settle(list(self.fixed.found), self.mode.edits)
            if self.linter.plan_rules:
                doc = self.doc
                result.guest = _guest(doc, DomainFacts(doc), self.task, self.linter)
        except DomxmlLintError as exc:  # a rule that fails on the original: as process() says
            result.error = InputError(self.task.shown, str(exc))
            result.findings = []
            return
        result.error = FixNotWritten(error.path, error.message, hint=error.hint)


def _written(task: Task, fixed: FixResult, data: bytes) -> InputError | None:
    """Write a fixed file; the error if it could not be written."""
    try:
        # expected: refuse to overwrite a file that changed since it was read
        write_atomic(task.path, fixed.data, expected=data)
    except InputError as exc:
        return exc
    return None


class BackgroundWrites:
    """Writes fixed files on one background thread, in order, so that each file's fsync
    (0.3-1.3 ms here, far more when other processes write) overlaps the next file's check.

    Every write is the same :func:`~.fileio.write_atomic`: a whole temporary file, fsynced,
    renamed. Results are final only after :meth:`finish`, which waits for every write and
    records the failed ones in their results, on the calling thread. On the way out (an
    interrupt, a bug) the write in progress completes and writes not yet started are
    dropped: every file is old or new. At most :attr:`LIMIT` writes wait at once.
    """

    LIMIT = 16

    def __init__(self) -> None:
        self._pool: Any = None
        self._pending: collections.deque[tuple[FileResult, _Write, Any]] = collections.deque()

    # Every call into the executor holds the interrupting signals back (signals_deferred):
    # its locks are not signal-safe, and a handler that raised while this thread held one
    # would leave it held, so the writer thread, and then the shutdown, would wait forever.

    def submit(self, result: FileResult, write: _Write) -> None:
        if len(self._pending) >= self.LIMIT:
            self._finish_one()
        task, fixed, data = write.task, write.fixed, write.data
        with signals_deferred():
            if self._pool is None:  # started on first use: after any fork, only when writing
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(1, initializer=_block_signals)
            future = self._pool.submit(_written, task, fixed, data)
        self._pending.append((result, write, future))

    def finish(self) -> None:
        """Wait for every write submitted; record the failed ones in their results."""
        while self._pending:
            self._finish_one()

    def _finish_one(self) -> None:
        result, write, future = self._pending[0]
        with signals_deferred():
            error = future.result()
        self._pending.popleft()
        write.finish(result, error)

    def __enter__(self) -> BackgroundWrites:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            # The write in progress completes; those not started are dropped (files stay old).
            with signals_deferred():
                self._pool.shutdown(wait=True, cancel_futures=exc_info[0] is not None)
        if exc_info[0] is None:
            self.finish()


def _block_signals() -> None:
    """Interrupting signals go to the main thread, whose handlers unwind the run."""
    signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTING_SIGNALS)


def _guest(doc: Document, facts: DomainFacts, task: Task, linter: Linter) -> GuestFacts:
    """What plan rules will see of this document, derived here so that it travels with the
    result from a ``--jobs`` worker (it is small; the document is not)."""
    return collect_guest(
        doc, facts, shown=task.shown, kind=task.kind, host=linter.host, ruleset=linter.ruleset
    )


def _skip(result: FileResult, root: str | None) -> FileResult:
    result.skipped = True
    result.skip_reason = (
        f"root element is <{root}>, not <domain>" if root else "no root element found"
    )
    return result


def unified_diff(path: str, doc: Document, new: bytes, kept: Sequence[Span]) -> str:
    """The fix as a unified diff; ``kept``: the bytes it left alone (``FixResult.kept``)."""
    from .linediff import fix_diff  # only with --diff

    name = path.lstrip("/")
    lines = fix_diff(doc.data, new, doc.encoding, kept, f"a/{name}", f"b/{name}")
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


def run_tasks(
    tasks: Sequence[Task], mode: Mode, jobs: int | None, plan: RunPlan
) -> list[FileResult]:
    """Process every task, in order; shared among processes when :func:`workers_for` says so."""
    # Build every Linter (and load every host) first, so that bad settings fail
    # once, before any file is touched, and forked workers inherit them ready-made.
    plan.prepare(task.settings for task in tasks)
    workers = workers_for(jobs, len(tasks))
    # Fixed files' directories are synced once each, before this returns (workers sync
    # theirs before they exit).
    with directory_syncs_deferred():
        if workers == 1 or not hasattr(os, "fork"):  # no fork (Windows): serial
            with BackgroundWrites() as writes:
                return [process(task, mode, plan, writes=writes) for task in tasks]
        return _run_shared(tasks, mode, workers, plan)


#: Most chunks queued at once: their 4-byte records (4 KiB) then fit any pipe, even a
#: one-page pipe, and are written in one atomic write.
MAX_CHUNKS = 1024
_RECORD_SIZE = 4

#: Seconds a worker gets to unwind after SIGTERM before it is killed.
STOP_GRACE = 3.0


def _run_shared(tasks: Sequence[Task], mode: Mode, workers: int, plan: RunPlan) -> list[FileResult]:
    """Share the tasks between this process and ``workers - 1`` forked ones.

    The tasks are cut into small chunks whose numbers wait in a pipe; every
    process, this one included, takes the next chunk when it is free, so a
    process slowed by the machine simply takes fewer. Workers send each chunk's
    results back as soon as it is done, and this process reads them between its
    own chunks, so reading them is shared out too instead of waiting at the end.
    """
    size = max(8, -(-len(tasks) // MAX_CHUNKS))
    queue, queue_in = os.pipe()
    os.write(queue_in, b"".join(_record(start) for start in range(0, len(tasks), size)))
    os.close(queue_in)
    sys.stdout.flush()
    sys.stderr.flush()
    workers_started: list[_Worker] = []
    results: list[FileResult | None] = [None] * len(tasks)
    try:
        for _ in range(workers - 1):
            result_out, result_in = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: never returns into the caller's code
                # Only the first process may hold the read ends: were an earlier worker's
                # still open here, that worker would not see its reader go away.
                for fd in (result_out, *(worker.results for worker in workers_started)):
                    os.close(fd)
                _work(tasks, mode, size, queue, result_in, plan)
            os.close(result_in)
            os.set_blocking(result_out, False)
            workers_started.append(_Worker(pid, result_out))
        with BackgroundWrites() as writes:  # our own results are final when it ends
            for index, result in _take_chunks(tasks, mode, size, queue, plan, writes):
                results[index] = result
                if index % size == size - 1:  # after each chunk of our own
                    for worker in workers_started:
                        worker.receive(results, wait=False)
        died = False
        for worker in workers_started:
            worker.receive(results, wait=True)
            _, status = os.waitpid(worker.pid, 0)
            died = died or status != 0
    except BaseException:
        # Interrupted (SIGINT/SIGTERM), or a bug: stop the workers; each one unwinds
        # its write in progress, so every file is either untouched or fully fixed.
        _stop([worker.pid for worker in workers_started])
        raise
    finally:
        os.close(queue)
        for worker in workers_started:
            with contextlib.suppress(OSError):
                os.close(worker.results)
    if died or any(result is None for result in results):
        raise UsageError(
            "a worker process died while checking files (killed, or out of memory); files "
            "it was fixing are unchanged or fully fixed; run again with --jobs 1 to see which "
            "file it was"
        )
    return results  # type: ignore[return-value]  # every chunk was taken by someone


def _take_chunks(
    tasks: Sequence[Task],
    mode: Mode,
    size: int,
    queue: int,
    plan: RunPlan,
    writes: BackgroundWrites,
) -> Iterator[tuple[int, FileResult]]:
    """Take chunks from the queue until it is empty; process their tasks."""
    while True:
        record = os.read(queue, _RECORD_SIZE)  # reads this small are atomic: whole records
        if not record:
            return
        start = int.from_bytes(record, "little")
        for index in range(start, min(start + size, len(tasks))):
            yield index, process(tasks[index], mode, plan, writes=writes)


def _record(start: int) -> bytes:
    return start.to_bytes(_RECORD_SIZE, "little")


def _work(
    tasks: Sequence[Task], mode: Mode, size: int, queue: int, out: int, plan: RunPlan
) -> NoReturn:
    """A forked worker: take chunks and send each one's results; exit without returning."""
    status = 0
    try:
        import pickle  # only in workers and _Worker: serial runs do not pay for it

        batch: list[tuple[int, FileResult]] = []
        # A fresh set of directories to sync: the parent syncs those it wrote itself.
        with directory_syncs_deferred(), BackgroundWrites() as writes:
            for index, result in _take_chunks(tasks, mode, size, queue, plan, writes):
                batch.append((index, result))
                if index % size == size - 1 or index == len(tasks) - 1:
                    writes.finish()  # the chunk's results are final once its files are written
                    frame = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
                    _write_all(out, len(frame).to_bytes(_RECORD_SIZE, "little") + frame)
                    batch = []
    except SystemExit as exc:  # SIGTERM/SIGHUP (cli._exit_on_signal): unwound
        status = exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        status = 130
    except BaseException:  # a bug, or the parent is gone (its results pipe is broken)
        status = 70
    finally:
        with contextlib.suppress(BaseException):  # whatever a plugin printed
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Worker:
    """A forked worker as its parent sees it: its pid and the pipe its results arrive on."""

    def __init__(self, pid: int, results: int) -> None:
        self.pid = pid
        self.results = results
        self._pending = bytearray()

    def receive(self, results: list[FileResult | None], *, wait: bool) -> None:
        """Read the frames that have arrived (all of them until the worker exits, if ``wait``)."""
        import pickle

        if wait:
            os.set_blocking(self.results, True)
        while True:
            try:
                data = os.read(self.results, 1 << 16)
            except BlockingIOError:
                return
            if not data:
                return  # the worker is done (or died: its missing results tell)
            self._pending += data
            while len(self._pending) >= _RECORD_SIZE:
                length = int.from_bytes(self._pending[:_RECORD_SIZE], "little")
                end = _RECORD_SIZE + length
                if len(self._pending) < end:
                    break
                for index, result in pickle.loads(self._pending[_RECORD_SIZE:end]):
                    results[index] = result
                del self._pending[:end]


def _stop(pids: list[int]) -> None:
    """Stop every worker: SIGTERM (each unwinds its write in progress), then SIGKILL."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    waiting = set(pids)
    while waiting and time.monotonic() < deadline:
        for pid in list(waiting):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            waiting.discard(pid)
        if waiting:
            time.sleep(0.01)
    for pid in waiting:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
