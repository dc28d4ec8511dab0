"""The fix loop: apply non-overlapping edits, re-parse, re-lint, until nothing is left.

The result must parse and still be a ``<domain>``, or nothing is returned for
writing and the run reports an internal error.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

import attrs

from .document import Document
from .errors import InputError, InternalError
from .findings import Edit, Finding
from .linter import Linter

#: Passes of apply -> re-parse -> re-lint before giving up on convergence.
MAX_PASSES = 10


@attrs.frozen
class FixResult:
    """What fixing one document did.

    ``output`` is the fixed text; ``data`` the same as bytes in the file's
    encoding. ``applied`` are the findings whose fixes were applied, in order;
    ``remaining`` the findings left in the fixed document; ``found`` those of the
    original, which still stand when the fixed document cannot be written (derived on
    first use: a fix run that writes its files never needs them).
    """

    data: bytes
    encoding: str
    applied: tuple[Finding, ...]
    remaining: tuple[Finding, ...]
    original: bytes = attrs.field(repr=False)
    converged: bool = True
    #: The findings of the original, or what derives them (see :attr:`found`).
    _found: tuple[Finding, ...] | Callable[[], tuple[Finding, ...]] = attrs.field(
        default=(), alias="found", repr=False, eq=False
    )
    #: Byte spans of ``original`` that survive unchanged in ``data``, in order:
    #: ``(start in original, start in data, length)``. A diff pairs lines through them.
    kept: tuple[tuple[int, int, int], ...] = ()

    @property
    def found(self) -> tuple[Finding, ...]:
        """The findings of the original document."""
        found = self._found
        if callable(found):
            found = found()
            object.__setattr__(self, "_found", found)
        return found

    @property
    def output(self) -> str:
        return self.data.decode(self.encoding)

    @property
    def changed(self) -> bool:
        return self.data != self.original


def edits_conflict(a: Edit, b: Edit) -> bool:
    """Whether edits of two different fixes cannot be applied together in one pass."""
    if a.anchor is not None and a.anchor == b.anchor:
        return True  # both add children to the same element
    return ranges_conflict(a, b)


def ranges_conflict(a: Edit, b: Edit) -> bool:
    """Whether two edits touch overlapping bytes (or insert at one point)."""
    if a.start == a.end and b.start == b.end:
        return a.start == b.start
    if a.start == a.end:
        return b.start <= a.start < b.end
    if b.start == b.end:
        return a.start <= b.start < a.end
    return a.start < b.end and b.start < a.end


class _TakenEdits:
    """Edits chosen so far in one pass, for conflict checks in logarithmic time.

    Chosen edits never conflict with each other, so in (start, end) order their
    ends never decrease either: the ones an edit could touch sit together after
    the first that ends at or after its start, and only the few of those that
    merely touch it are passed over before a conflict or the end of the window.
    """

    def __init__(self) -> None:
        self._spans: list[tuple[int, int]] = []
        self._ends: list[int] = []
        self._anchors: set[int] = set()

    def conflicts(self, edit: Edit, *, anchors: bool = True) -> bool:
        if anchors and edit.anchor is not None and edit.anchor in self._anchors:
            return True  # both add children to the same element
        spans, start, end = self._spans, edit.start, edit.end
        index = bisect.bisect_left(self._ends, start)
        while index < len(spans) and spans[index][0] <= end:
            if _spans_conflict(spans[index], (start, end)):
                return True
            index += 1
        return False

    def add(self, edit: Edit) -> None:
        index = bisect.bisect_left(self._spans, (edit.start, edit.end))
        self._spans.insert(index, (edit.start, edit.end))
        self._ends.insert(index, edit.end)
        if edit.anchor is not None:
            self._anchors.add(edit.anchor)


def _spans_conflict(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """:func:`ranges_conflict` on (start, end) pairs."""
    (a_start, a_end), (b_start, b_end) = a, b
    if a_start == a_end and b_start == b_end:
        return a_start == b_start
    if a_start == a_end:
        return b_start <= a_start < b_end
    if b_start == b_end:
        return a_start <= b_start < a_end
    return a_start < b_end and b_start < a_end


def choose_fixes(findings: Sequence[Finding], *, unsafe: bool) -> list[Finding]:
    """Fixable findings whose edits do not conflict, first in document order.

    The same choice as checking every edit against every edit chosen before it,
    in O(n log n) time: a file with 10,000 fixes is chosen in milliseconds.
    """
    candidates = [
        f for f in findings if f.fix is not None and f.fix.edits and (unsafe or f.fix.is_safe)
    ]
    candidates.sort(key=lambda f: (f.fix.span, f.code))  # type: ignore[union-attr]
    chosen: list[Finding] = []
    taken = _TakenEdits()
    for finding in candidates:
        edits = finding.fix.edits  # type: ignore[union-attr]
        if any(taken.conflicts(e) for e in edits) or _conflict_within(edits):
            continue
        chosen.append(finding)
        for edit in edits:
            taken.add(edit)
    return chosen


def _conflict_within(edits: Sequence[Edit]) -> bool:
    """Whether two edits of one fix touch the same bytes (anchors may repeat within a fix)."""
    if len(edits) < 2:
        return False
    own = _TakenEdits()
    for edit in edits:
        if own.conflicts(edit, anchors=False):
            return True
        own.add(edit)
    return False


#: Bytes that a fix left as they were: ``(start in the old text, start in the new, length)``.
Span = tuple[int, int, int]


def apply_edits(doc: Document, edits: Sequence[Edit]) -> bytes:
    """The document's bytes with ``edits`` (non-conflicting) applied."""
    return _apply(doc, edits)[0]


def _apply(doc: Document, edits: Sequence[Edit]) -> tuple[bytes, list[Span]]:
    """The edited bytes, and the spans of the old bytes that the edits left alone."""
    pieces: list[bytes] = []
    kept: list[Span] = []
    position = written = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start > position:
            kept.append((position, written, edit.start - position))
            written += edit.start - position
        pieces.append(doc.data[position : edit.start])
        content = doc.encode(edit.content)
        pieces.append(content)
        written += len(content)
        position = edit.end
    if len(doc.data) > position:
        kept.append((position, written, len(doc.data) - position))
    pieces.append(doc.data[position:])
    return b"".join(pieces), kept


def compose_spans(first: Sequence[Span], then: Sequence[Span]) -> list[Span]:
    """Spans kept through two rounds of edits: ``first`` (A to B), then ``then`` (B to C).

    Both lists are in order; one merge pass intersects them in B's coordinates.
    """
    kept: list[Span] = []
    i = j = 0
    while i < len(first) and j < len(then):
        a_start, b_start, length = first[i]
        c_old, c_new, c_length = then[j]
        low = max(b_start, c_old)
        high = min(b_start + length, c_old + c_length)
        if low < high:
            kept.append((a_start + low - b_start, c_new + low - c_old, high - low))
        if b_start + length <= c_old + c_length:
            i += 1
        else:
            j += 1
    return kept


def fix_document(doc: Document, linter: Linter, *, unsafe: bool = False) -> FixResult:
    """Fix ``doc`` until no applicable fix is left (or :data:`MAX_PASSES`)."""
    original = doc
    applied: list[Finding] = []
    # Every pass, the first included, runs only the rules that offer fixes: the other rules
    # (the schema among them) need to see only the document the loop ends with. The original's
    # other findings are needed only when the fixed document cannot be written (``found``).
    partial = linter.check_fixable(doc)
    first = partial
    findings = linter.check(doc).findings if partial is None else partial.findings
    found: tuple[Finding, ...] | Callable[[], tuple[Finding, ...]] = (
        tuple(findings) if first is None else lambda: tuple(linter.complete(first).findings)
    )
    kept: list[Span] = [(0, 0, len(original.data))] if original.data else []
    converged = True
    for _ in range(MAX_PASSES):
        chosen = choose_fixes(findings, unsafe=unsafe)
        if not chosen:
            break
        new_data, pass_kept = _apply(doc, [e for f in chosen for e in f.fix.edits])  # type: ignore[union-attr]
        kept = compose_spans(kept, pass_kept)
        doc = _reparse(new_data, doc.path, chosen)
        applied.extend(chosen)
        partial = linter.check_fixable(doc)
        findings = linter.check(doc).findings if partial is None else partial.findings
    else:
        converged = not choose_fixes(findings, unsafe=unsafe)
    if partial is not None:
        findings = linter.complete(partial).findings
        if doc is original:
            found = tuple(findings)
    return FixResult(
        data=doc.data,
        encoding=doc.encoding,
        applied=tuple(applied),
        remaining=tuple(findings),
        original=original.data,
        converged=converged,
        found=found,
        kept=tuple(kept),
    )


def _reparse(data: bytes, path: str, chosen: Sequence[Finding]) -> Document:
    codes = ", ".join(sorted({f.code for f in chosen}))
    try:
        doc = Document.parse(data, path)
    except InputError as exc:
        raise InternalError(
            path,
            f"fixes by {codes} produced XML that does not parse ({exc.message}); "
            "nothing was written",
            hint="please report this with the file",
        ) from None
    if doc.root.tag != "domain":
        raise InternalError(
            path,
            f"fixes by {codes} changed the root element; nothing was written",
            hint="please report this with the file",
        )
    return doc
