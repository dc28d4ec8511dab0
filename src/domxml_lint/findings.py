"""The values a lint run produces: findings, fixes and byte edits."""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import attrs

T = TypeVar("T")
C = TypeVar("C", bound=type)

#: Every class pickled by :func:`pickled_as_tuple` (a test round-trips each one).
TUPLE_PICKLED: list[type] = []


def pickled_as_tuple(cls: C) -> C:
    """Pickle an attrs class as a tuple of its ``__init__`` arguments, derived from its fields.

    ``--jobs`` workers send results back pickled; a tuple loads twice as fast as
    attrs' per-field state dict. The tuple is built from ``attrs.fields``, so a
    field added later is carried without anyone remembering to add it here.
    Fields with ``init=False`` are derived in ``__attrs_post_init__`` and not sent.
    """
    fields = [f for f in attrs.fields(cls) if f.init]
    positional = [f for f in fields if not f.kw_only]
    keywords = tuple(f.alias for f in fields if f.kw_only)
    names = [f.name for f in (*positional, *(f for f in fields if f.kw_only))]
    get = operator.attrgetter(*names)
    values: Callable[[Any], tuple[Any, ...]] = get if len(names) > 1 else lambda x: (get(x),)
    if keywords:
        count = len(positional)

        def __reduce__(self: Any) -> tuple[Any, ...]:
            return (_rebuild, (cls, count, keywords, values(self)))
    else:

        def __reduce__(self: Any) -> tuple[Any, ...]:
            return (cls, values(self))

    if "__reduce__" not in cls.__dict__:  # a class may say how it pickles (Fix)
        cls.__reduce__ = __reduce__  # type: ignore[method-assign,assignment]
    TUPLE_PICKLED.append(cls)
    return cls


def _rebuild(cls: type[T], count: int, keywords: tuple[str, ...], values: tuple[Any, ...]) -> T:
    return cls(*values[:count], **dict(zip(keywords, values[count:], strict=True)))


def as_tuple(items: Iterable[Any]) -> tuple[Any, ...]:
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


@pickled_as_tuple
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


#: A function that builds a fix's edits when they are first needed.
EditBuilder = Callable[[], Iterable[Edit]]
#: What a fix's edits are given as: the edits, or a function that builds them on first use.
EditsOrBuilder = tuple[Edit, ...] | EditBuilder


def _edits_or_builder(edits: Iterable[Edit] | EditBuilder) -> EditsOrBuilder:
    return edits if callable(edits) else tuple(edits)


def _resolved(edits: EditsOrBuilder) -> tuple[Edit, ...]:
    return tuple(edits()) if callable(edits) else edits


def _edits_repr(edits: EditsOrBuilder) -> str:
    return repr(_resolved(edits))


def edits_dropped() -> tuple[Edit, ...]:
    """The builder of a fix whose edits the run's output does not need (:meth:`Fix.settle`)."""
    raise AssertionError("this fix's edits were dropped: the run said its output needs none")


@pickled_as_tuple
@attrs.frozen
class Fix:
    """A rewrite that resolves one finding; its edits apply together or not at all.

    ``edits`` may be given as a function that builds them: it runs on first use, so a
    lint whose output shows no edits never builds them (building one can locate
    elements and measure the file's indentation). Until then it keeps its document
    alive; :meth:`settle` builds or drops it once a run knows what its output needs.
    """

    applicability: Applicability
    title: str
    _edits: EditsOrBuilder = attrs.field(
        alias="edits", converter=_edits_or_builder, eq=_resolved, repr=_edits_repr
    )

    @property
    def edits(self) -> tuple[Edit, ...]:
        edits = self._edits
        if callable(edits):
            edits = tuple(edits())
            object.__setattr__(self, "_edits", edits)
        return edits

    def settle(self, needed: bool) -> None:
        """Build the edits now if ``needed``, else drop their builder (and its document)."""
        if callable(self._edits) and self._edits is not edits_dropped:
            if needed:
                self.edits  # noqa: B018  # built and kept
            else:
                object.__setattr__(self, "_edits", edits_dropped)

    @property
    def is_safe(self) -> bool:
        return self.applicability is Applicability.SAFE

    @property
    def span(self) -> tuple[int, int]:
        edits = self.edits
        return min(e.start for e in edits), max(e.end for e in edits)

    def __reduce__(self) -> tuple[Any, ...]:
        # A builder does not pickle: the edits travel built, or dropped as they were.
        edits = self._edits
        if callable(edits) and edits is not edits_dropped:
            edits = self.edits
        return (Fix, (self.applicability, self.title, edits))


@pickled_as_tuple
@attrs.frozen
class Related:
    """Another place a finding points at: the other guest of a conflict, say.

    ``path`` is the file (or live domain) as shown in the output; ``line`` and
    ``column`` are 1-based; ``message`` says what is there.
    """

    path: str
    line: int
    column: int
    message: str


@pickled_as_tuple
@attrs.frozen
class Finding:
    """One problem found in one document.

    Lines and columns are 1-based; columns count characters. ``path`` is the
    element's XPath (``/domain/devices/disk[2]/driver``). ``related`` are other
    places the finding points at (a plan rule's other guest), shown as "see also".
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
    related: tuple[Related, ...] = attrs.field(default=(), converter=as_tuple)

    @property
    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.line, self.column, self.code, self.message)
