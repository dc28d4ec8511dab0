"""The fix loop: apply non-overlapping edits, re-parse, re-lint, until nothing is left.

The result must parse and still be a ``<domain>``, or nothing is returned for
writing and the run reports an internal error.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    original, which still stand when the fixed document cannot be written.
    """

    data: bytes
    encoding: str
    applied: tuple[Finding, ...]
    remaining: tuple[Finding, ...]
    original: bytes = attrs.field(repr=False)
    converged: bool = True
    found: tuple[Finding, ...] = ()

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


def choose_fixes(findings: Sequence[Finding], *, unsafe: bool) -> list[Finding]:
    """Fixable findings whose edits do not conflict, first in document order."""
    candidates = [
        f for f in findings if f.fix is not None and f.fix.edits and (unsafe or f.fix.is_safe)
    ]
    candidates.sort(key=lambda f: (f.fix.span, f.code))  # type: ignore[union-attr]
    chosen: list[Finding] = []
    taken: list[Edit] = []
    for finding in candidates:
        edits = finding.fix.edits  # type: ignore[union-attr]
        if any(edits_conflict(e, t) for e in edits for t in taken):
            continue
        if any(ranges_conflict(a, b) for i, a in enumerate(edits) for b in edits[i + 1 :]):
            continue
        chosen.append(finding)
        taken.extend(edits)
    return chosen


def apply_edits(doc: Document, edits: Sequence[Edit]) -> bytes:
    """The document's bytes with ``edits`` (non-conflicting) applied."""
    pieces: list[bytes] = []
    position = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        pieces.append(doc.data[position : edit.start])
        pieces.append(doc.encode(edit.content))
        position = edit.end
    pieces.append(doc.data[position:])
    return b"".join(pieces)


def fix_document(doc: Document, linter: Linter, *, unsafe: bool = False) -> FixResult:
    """Fix ``doc`` until no applicable fix is left (or :data:`MAX_PASSES`)."""
    original = doc.data
    applied: list[Finding] = []
    findings = linter.check(doc).findings
    found = tuple(findings)
    converged = True
    for _ in range(MAX_PASSES):
        chosen = choose_fixes(findings, unsafe=unsafe)
        if not chosen:
            break
        new_data = apply_edits(doc, [e for f in chosen for e in f.fix.edits])  # type: ignore[union-attr]
        doc = _reparse(new_data, doc.path, chosen)
        applied.extend(chosen)
        findings = linter.check(doc).findings
    else:
        converged = not choose_fixes(findings, unsafe=unsafe)
    return FixResult(
        data=doc.data,
        encoding=doc.encoding,
        applied=tuple(applied),
        remaining=tuple(findings),
        original=original,
        converged=converged,
        found=found,
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
