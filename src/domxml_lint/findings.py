"""The values a lint run produces: findings, fixes and byte edits."""

from __future__ import annotations

import enum
import operator
from collections.abc import Iterable
from typing import TypeVar

import attrs

T = TypeVar("T")


def as_tuple(items: Iterable[T]) -> tuple[T, ...]:
    """attrs converter to a tuple. Not ``tuple`` itself: attrs reads a converter's signature,
    and a builtin's is parsed from text by the tokenizer, 2 ms of every start-up."""
    return tuple(items)


class Severity(enum.Enum):
    """How bad a finding is.

    error: libvirt or QEMU rejects the definition, or data can be lost.
    warning: a clear performance or safety problem.
    info: advice.
    """

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __str__(self) -> str:
        return self.value


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class Applicability(enum.Enum):
    """Whether a fix may be applied by ``--fix`` alone.

    safe: cannot make a definition that libvirt accepts fail to define or
    start on the same host, and cannot reduce data durability.
    unsafe: anything else; needs ``--unsafe-fixes``.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"

    def __str__(self) -> str:
        return self.value


@attrs.frozen(order=True)
class Edit:
    """Replace bytes ``start:end`` of the original document with ``content``.

    ``content`` is text; it is encoded with the document's encoding when the
    edit is applied. An insertion has ``start == end``.

    ``anchor`` is the start offset of the element an edit adds a child to.
    Two insertions into one element never share a fix pass: each may create
    the same child (a ``<driver>``, say) at a different place, and only the
    next pass sees the first one's.
    """

    start: int
    end: int
    content: str
    anchor: int | None = attrs.field(default=None, eq=False, order=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad edit range {self.start}:{self.end}")

    def __reduce__(self):
        return (_edit, (self.start, self.end, self.content, self.anchor))


@attrs.frozen
class Fix:
    """A rewrite that resolves one finding; its edits apply together or not at all."""

    applicability: Applicability
    title: str
    edits: tuple[Edit, ...] = attrs.field(converter=as_tuple)

    def __reduce__(self):
        return (type(self), (self.applicability, self.title, self.edits))

    @property
    def is_safe(self) -> bool:
        return self.applicability is Applicability.SAFE

    @property
    def span(self) -> tuple[int, int]:
        return min(e.start for e in self.edits), max(e.end for e in self.edits)


@attrs.frozen
class Finding:
    """One problem found in one document.

    Lines and columns are 1-based; columns count characters. ``path`` is the
    element's XPath (``/domain/devices/disk[2]/driver``).
    """

    code: str
    name: str
    severity: Severity
    message: str
    line: int
    column: int
    end_line: int
    end_column: int
    path: str
    fix: Fix | None = None
    offset: int = attrs.field(default=0, eq=False, repr=False)

    @property
    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.line, self.column, self.code, self.message)

    def __reduce__(self):
        return (type(self), _finding_fields(self))


# --jobs workers send findings back pickled. As a tuple of fields (every class here
# defines __reduce__), they load twice as fast as attrs' per-field state dicts.
_finding_fields = operator.attrgetter(*(field.name for field in attrs.fields(Finding)))


def _edit(start: int, end: int, content: str, anchor: int | None) -> Edit:
    return Edit(start, end, content, anchor=anchor)
