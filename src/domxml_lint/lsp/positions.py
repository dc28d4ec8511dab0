"""Byte offsets in a linted document as LSP positions, and back.

Findings and edits carry byte offsets into the bytes that were linted (the
editor's text encoded as the document declares). LSP positions are a 0-based
line and a 0-based offset in the line counted in the negotiated unit: UTF-16
code units unless the client offered ``utf-8`` (or ``utf-32``). LSP lines end
at ``\\n``, ``\\r\\n`` or a lone ``\\r``; a finding's 1-based ``end_line`` and
``end_column`` count lines by ``\\n`` and columns in characters, as
:meth:`Document.position` does.

Everything here is plain Python (no pygls), so it is tested in process.
"""

from __future__ import annotations

import codecs
import re
from bisect import bisect_right

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
_LINE_BREAK = re.compile(rb"\r\n?|\n")


def units_in(text: str, unit: str) -> int:
    """How many position units ``text`` takes."""
    if unit == UTF16:
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    if unit == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text)


def _characters_within(text: str, units: int, unit: str) -> int:
    """How many leading characters of ``text`` fit in ``units`` (a position inside a
    character rounds down to its start)."""
    if unit == UTF32 or text.isascii():
        return min(units, len(text))
    used = 0
    for index, char in enumerate(text):
        width = units_in(char, unit)
        if used + width > units:
            return index
        used += width
    return len(text)


class LineIndex:
    """Positions in one version of a document: ``data`` (bytes in ``encoding``)."""

    def __init__(self, data: bytes, encoding: str, unit: str = UTF16) -> None:
        self.data = data
        self.encoding = encoding
        self.unit = unit
        self._ascii = data.isascii()
        self._starts = [0]
        self._ends: list[int] = []  # where each line's text ends (before its line break)
        for match in _LINE_BREAK.finditer(data):
            self._ends.append(match.start())
            self._starts.append(match.end())
        self._ends.append(len(data))
        self._newline_starts: list[int] | None = None

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def _text(self, start: int, end: int) -> str:
        return self.data[start:end].decode(self.encoding, "replace")

    def position(self, offset: int) -> tuple[int, int]:
        """The (line, character) of a byte offset; offsets past the end clamp to it."""
        offset = max(0, min(offset, len(self.data)))
        line = bisect_right(self._starts, offset) - 1
        start = self._starts[line]
        offset = min(offset, self._ends[line])  # inside a CRLF: the end of the line
        if self._ascii:
            return line, offset - start
        return line, units_in(self._text(start, offset), self.unit)

    def offset(self, line: int, character: int) -> int:
        """The byte offset of an LSP position; as the protocol says, a character past the
        end of its line means the line's end, and a line past the end the document's end."""
        if line < 0:
            return 0
        if line >= len(self._starts):
            return len(self.data)
        start, end = self._starts[line], self._ends[line]
        if self._ascii:
            return start + max(0, min(character, end - start))
        text = self._text(start, end)
        kept = text[: _characters_within(text, max(0, character), self.unit)]
        return start + len(kept.encode(self.encoding, "replace"))

    def line_end(self, line: int) -> int:
        """The byte offset where ``line``'s text ends (before its line break)."""
        return self._ends[max(0, min(line, len(self._ends) - 1))]

    def line_start(self, line: int) -> int:
        return self._starts[max(0, min(line, len(self._starts) - 1))]

    def character_offset(self, line: int, column: int) -> int:
        """The byte offset of a 1-based line (LSP's line breaks) and 1-based character
        column, as libxml2 reports a syntax error; clamped to the line."""
        index = max(0, min(line - 1, len(self._starts) - 1))
        start, end = self._starts[index], self._ends[index]
        text = self._text(start, end)
        return start + len(text[: max(0, column - 1)].encode(self.encoding, "replace"))

    def finding_offset(self, line: int, column: int) -> int:
        """The byte offset of a finding's 1-based line and character column (lines end at
        ``\\n`` only, and line 1 starts after a UTF-8 byte order mark)."""
        if self._newline_starts is None:
            starts = [0]
            find = self.data.find
            newline = find(b"\n")
            while newline != -1:
                starts.append(newline + 1)
                newline = find(b"\n", newline + 1)
            self._newline_starts = starts
        starts = self._newline_starts
        index = max(0, min(line - 1, len(starts) - 1))
        start = starts[index]
        if index == 0 and self.data.startswith(codecs.BOM_UTF8):
            start = len(codecs.BOM_UTF8)
        end = self.data.find(b"\n", start)
        end = len(self.data) if end == -1 else end
        if self._ascii:
            return min(start + max(0, column - 1), end)
        text = self._text(start, end)
        return start + len(text[: max(0, column - 1)].encode(self.encoding, "replace"))
