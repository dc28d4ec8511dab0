"""The byte edits behind the server's code actions.

- a finding's quick fix: its own ``fix.edits``, from the rules' edit builders;
- "fix all": the real fix loop (:func:`fix_document`) on the buffer, returned as the
  minimal edits between the old and the new bytes (the gaps between the spans the
  loop kept, :attr:`FixResult.kept`);
- "suppress DXnnn here": ``<!-- domxml-lint: disable=DXnnn -->`` on its own line
  before the finding's element, indented like it, or next to its start tag when
  other markup shares its line (or the rule is added to the suppression comment
  already there); checked against how suppressions are read before it is offered.

An edit is ``(start, end, text)``: replace bytes ``start:end`` of the checked
document with ``text``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from lxml import etree

from ..document import Document
from ..errors import InputError
from ..findings import Finding
from ..fixer import FixResult
from ..suppression import Suppression, find_suppressions

ByteEdit = tuple[int, int, str]


def fix_edits(finding: Finding) -> list[ByteEdit]:
    """A finding's own fix, as byte edits (empty if it has none)."""
    if finding.fix is None:
        return []
    return [(edit.start, edit.end, edit.content) for edit in finding.fix.edits]


def edits_between(result: FixResult) -> list[ByteEdit]:
    """The edits that turn ``result.original`` into ``result.data``: one per changed gap
    between the spans the fix loop left alone."""
    old, new, encoding = result.original, result.data, result.encoding
    edits: list[ByteEdit] = []
    old_at = new_at = 0
    for old_start, new_start, length in (*result.kept, (len(old), len(new), 0)):
        if old_start > old_at or new_start > new_at:
            edits.append((old_at, old_start, new[new_at:new_start].decode(encoding)))
        old_at, new_at = old_start + length, new_start + length
    return edits


class Suppressor:
    """Builds "suppress DXnnn here" edits for the findings of one checked document."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self._positions: dict[etree._Element, int] | None = None
        self._starts: list[int] | None = None
        self._comments: dict[int, Suppression] | None = None

    def element_of(self, finding: Finding) -> etree._Element:
        """The element a finding is about: the one at its path, else the one whose start
        tag holds its offset."""
        doc = self.doc
        try:
            found = doc.root.getroottree().xpath(finding.path) if finding.path else []
        except etree.XPathError:
            found = []
        if isinstance(found, list) and len(found) == 1 and isinstance(found[0], etree._Element):
            return found[0]
        if self._starts is None:
            self._starts = [span.start for span in doc.spans]
        index = max(0, bisect_right(self._starts, finding.offset) - 1)
        return doc.elements[index]

    def edit(self, finding: Finding) -> ByteEdit | None:
        """Suppress ``finding``'s rule for its element (and the element's subtree).

        Each way of writing it is checked by reading the suppressions of the edited
        document back (:func:`find_suppressions` decides what a comment covers), so the
        action never offers a comment that would not suppress the finding; None if no
        way works.
        """
        doc = self.doc
        element = self.element_of(finding)
        if self._positions is None:
            self._positions = {el: i for i, el in enumerate(doc.elements)}
        index = self._positions[element]
        if self._comments is None:
            self._comments = {
                comment.target: comment
                for comment in find_suppressions(doc)
                if comment.target is not None and not comment.file_wide and not comment.malformed
            }
        for candidate in self._candidates(element, index, finding.code):
            if self._suppresses(candidate, index, finding.code):
                return candidate
        return None

    def _candidates(self, element: etree._Element, index: int, code: str) -> list[ByteEdit]:
        doc = self.doc
        found = []
        existing = self._comments.get(index) if self._comments else None
        if existing is not None:
            # Name the rule in the comment already there rather than stack a second one:
            # after its rule list (recorded by newer suppression readers, which allow a
            # reason after the list), else at the end of the comment.
            end = getattr(existing, "selectors_end", 0)
            if not end:
                end = doc.data.rindex(b"-->", existing.start, existing.end)
                while end > existing.start and doc.data[end - 1 : end] in b" \t\r\n":
                    end -= 1
            found.append((end, end, f",{code}"))
        span = doc.span(element)
        comment = f"<!-- domxml-lint: disable={code} -->"
        indent = doc.indentation_at(span.start)
        if indent is not None:  # alone on its line: the comment on a line of its own above
            line_start = span.start - len(indent)
            found.append((line_start, line_start, f"{indent}{comment}{doc.style.newline}"))
        else:  # other markup on its line: right after its start tag, or right before it
            found.append((span.start_end, span.start_end, comment))
            found.append((span.start, span.start, comment))
        return found

    def _suppresses(self, edit: ByteEdit, index: int, code: str) -> bool:
        edited = apply(self.doc.data, self.doc.encoding, [edit])
        try:
            doc = Document.parse(edited, self.doc.path)
        except InputError:
            return False
        return any(
            comment.target == index and not comment.file_wide and code in comment.selectors
            for comment in find_suppressions(doc)
        )


def suppression_edit(doc: Document, finding: Finding) -> ByteEdit | None:
    """Suppress ``finding``'s rule for its element (one finding; see :class:`Suppressor`)."""
    return Suppressor(doc).edit(finding)


def apply(data: bytes, encoding: str, edits: Sequence[ByteEdit]) -> bytes:
    """``data`` with non-overlapping ``edits`` applied (for tests and checks)."""
    pieces = []
    position = 0
    for start, end, text in sorted(edits, key=lambda e: (e[0], e[1])):
        pieces += [data[position:start], text.encode(encoding, "xmlcharrefreplace")]
        position = end
    pieces.append(data[position:])
    return b"".join(pieces)
