"""Unified diffs of fixes in time linear in the file's size.

``difflib`` searches the whole file for its longest matching run of lines, then
does the same on each side of it; with a fix every few lines that is quadratic
(a file with 10,000 fixes took a minute). A fix, though, knows what it changed:
the fixer records which byte spans of the original survive unchanged in the
fixed file (:attr:`domxml_lint.fixer.FixResult.kept`). A line lying inside
such a span, and whole in the fixed file too, pairs with that line directly.
Only the few lines between two paired lines, the ones fixes touched, go to
``difflib``, a stretch at a time. Hunks are then grouped and printed as
``difflib.unified_diff`` prints them (tests compare the two byte for byte, on
every fixture and corpus fix and on generated cases).
"""

from __future__ import annotations

import codecs
import difflib
from collections.abc import Iterator, Sequence

#: ``(start in the old bytes, start in the new bytes, length)``, in order.
Span = tuple[int, int, int]
#: ``(tag, i1, i2, j1, j2)`` as ``difflib.SequenceMatcher.get_opcodes`` gives them.
Opcode = tuple[str, int, int, int, int]
#: ``(i, j, size)``: ``a[i:i + size] == b[j:j + size]``.
Block = tuple[int, int, int]


def fix_diff(
    old: bytes, new: bytes, encoding: str, kept: Sequence[Span], fromfile: str, tofile: str
) -> Iterator[str]:
    """The unified diff (3 lines of context) from ``old`` to ``new``, line by line.

    Lines are ``str.splitlines(keepends=True)`` of the decoded text, and the
    result is what ``difflib.unified_diff`` yields for them.
    """
    a = old.decode(encoding, "replace").splitlines(keepends=True)
    b = new.decode(encoding, "replace").splitlines(keepends=True)
    a_starts = _byte_starts(a, encoding, len(old))
    b_starts = _byte_starts(b, encoding, len(new))
    blocks: Sequence[Block]
    if a_starts is None or b_starts is None:  # bytes that do not decode: compare it all
        matcher = difflib.SequenceMatcher(None, a, b)
        blocks = [(m.a, m.b, m.size) for m in matcher.get_matching_blocks()]
    else:
        blocks = matching_blocks(a, b, _paired_lines(a_starts, b_starts, kept))
    hunks = grouped_opcodes(opcodes(blocks, len(a), len(b)))
    return unified_lines(a, b, hunks, fromfile, tofile)


def _byte_starts(lines: Sequence[str], encoding: str, size: int) -> list[int] | None:
    """Byte offset of each line, and of the end; None if the lines do not re-encode to
    ``size`` bytes (undecodable bytes were replaced)."""
    encode = codecs.getincrementalencoder(encoding)("xmlcharrefreplace").encode
    starts = [0]
    position = 0
    for line in lines:
        position += len(encode(line))
        starts.append(position)
    return starts if position == size else None


def _paired_lines(
    a_starts: list[int], b_starts: list[int], kept: Sequence[Span]
) -> Iterator[tuple[int, int]]:
    """Old and new line numbers of the lines that ``kept`` carries over whole, in order."""
    span = 0
    j = 0
    last_b = len(b_starts) - 1
    for i in range(len(a_starts) - 1):
        start, end = a_starts[i], a_starts[i + 1]
        while span < len(kept) and kept[span][0] + kept[span][2] <= start:
            span += 1
        if span == len(kept):
            return
        old_start, new_start, length = kept[span]
        if start < old_start or end > old_start + length:
            continue  # an edit touched this line
        target = new_start + start - old_start
        while j < last_b and b_starts[j] < target:
            j += 1
        if j < last_b and b_starts[j] == target and b_starts[j + 1] - target == end - start:
            yield i, j
            j += 1


def matching_blocks(
    a: Sequence[str], b: Sequence[str], pairs: Iterator[tuple[int, int]]
) -> list[Block]:
    """Runs of equal lines: the paired lines, and what ``difflib`` matches between them."""
    blocks: list[Block] = []

    def add(i: int, j: int, size: int) -> None:
        if blocks and blocks[-1][0] + blocks[-1][2] == i and blocks[-1][1] + blocks[-1][2] == j:
            blocks[-1] = (blocks[-1][0], blocks[-1][1], blocks[-1][2] + size)
        elif size:
            blocks.append((i, j, size))

    def between(i1: int, i2: int, j1: int, j2: int) -> None:
        if i1 < i2 and j1 < j2:
            matcher = difflib.SequenceMatcher(None, a[i1:i2], b[j1:j2])
            for i, j, size in matcher.get_matching_blocks():
                add(i1 + i, j1 + j, size)

    i_next = j_next = 0  # the first lines not yet accounted for
    for i, j in pairs:
        between(i_next, i, j_next, j)
        add(i, j, 1)
        i_next, j_next = i + 1, j + 1
    between(i_next, len(a), j_next, len(b))
    blocks.append((len(a), len(b), 0))
    return blocks


def opcodes(blocks: Sequence[Block], a_length: int, b_length: int) -> list[Opcode]:
    """Blocks of equal lines as equal/replace/delete/insert operations, in order."""
    codes: list[Opcode] = []
    i = j = 0
    for block_i, block_j, size in blocks:
        if i < block_i and j < block_j:
            codes.append(("replace", i, block_i, j, block_j))
        elif i < block_i:
            codes.append(("delete", i, block_i, j, j))
        elif j < block_j:
            codes.append(("insert", i, i, j, block_j))
        if size:
            codes.append(("equal", block_i, block_i + size, block_j, block_j + size))
        i, j = block_i + size, block_j + size
    return codes


def grouped_opcodes(codes: list[Opcode], context: int = 3) -> Iterator[list[Opcode]]:
    """Hunks: the changes with ``context`` equal lines around them; changes closer than
    twice that share a hunk."""
    if not codes:
        codes = [("equal", 0, 1, 0, 1)]
    codes = list(codes)
    tag, i1, i2, j1, j2 = codes[0]
    if tag == "equal":  # only the last lines of a leading equal run are context
        codes[0] = (tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    tag, i1, i2, j1, j2 = codes[-1]
    if tag == "equal":
        codes[-1] = (tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    hunk: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            hunk.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            yield hunk
            hunk = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        hunk.append((tag, i1, i2, j1, j2))
    if hunk and not (len(hunk) == 1 and hunk[0][0] == "equal"):
        yield hunk


def unified_lines(
    a: Sequence[str], b: Sequence[str], hunks: Iterator[list[Opcode]], fromfile: str, tofile: str
) -> Iterator[str]:
    """The lines of a unified diff: the two file headers, then each hunk."""
    for number, hunk in enumerate(hunks):
        if number == 0:
            yield f"--- {fromfile}\n"
            yield f"+++ {tofile}\n"
        first, last = hunk[0], hunk[-1]
        yield f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in hunk:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            if tag in ("replace", "delete"):
                yield from ("-" + line for line in a[i1:i2])
            if tag in ("replace", "insert"):
                yield from ("+" + line for line in b[j1:j2])


def _range(start: int, stop: int) -> str:
    """A hunk's line range: ``first,count``, just ``first`` for one line; an empty
    range names the line before it."""
    count = stop - start
    if count == 1:
        return str(start + 1)
    return f"{start + 1 if count else start},{count}"
