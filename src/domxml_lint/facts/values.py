"""Small values the facts are made of, and the readers that build them from elements.

Readers never raise on bad input: a value libvirt would refuse becomes None, or
a :class:`CpusetRef` that carries the parse error, for rules to report.
"""

from __future__ import annotations

from lxml import etree

from .._records import NamedTuple
from ..cpuset import CpusetError, parse_cpuset
from ..units import to_kib

Element = etree._Element


class CpusetRef(NamedTuple):
    """One cpuset/nodeset attribute and what it parsed to.

    ``ids`` is None when the text is invalid; ``error`` then says why.
    """

    element: Element
    attribute: str
    text: str
    ids: frozenset[int] | None
    error: str | None = None


class MemorySize(NamedTuple):
    """A scaled size element or attribute, converted to KiB (None if invalid)."""

    element: Element
    kib: int | None
    text: str
    unit: str | None


def child(element: Element, tag: str) -> Element | None:
    """The first child named ``tag``: ``find(tag)`` without ElementPath, at a third of the cost.

    For the root's children, ``facts.top("clock")`` reads a table built once.
    """
    return next(element.iterchildren(tag), None)


def first_children(element: Element) -> dict[object, Element]:
    """The first child of each tag, from one pass over the children: cheaper than a
    :func:`child` call per tag once a reader asks for more than about four tags.

    Keyed by ``tag`` as lxml gives it (comments and processing instructions are keyed by
    their factory function, so no name matches them); ``.get(name)`` is ``child(el, name)``.
    """
    found: dict[object, Element] = {}
    for item in element:
        found.setdefault(item.tag, item)
    return found


def child_text(element: Element, tag: str) -> str | None:
    """``findtext(tag)``: the first such child's text ('' when empty), None without one."""
    found = next(element.iterchildren(tag), None)
    return None if found is None else (found.text or "")


def grandchild(element: Element, tag: str, inner: str) -> Element | None:
    """``find("tag/inner")``: the first ``inner`` under any ``tag`` child."""
    for outer in element.iterchildren(tag):
        found = next(outer.iterchildren(inner), None)
        if found is not None:
            return found
    return None


def grandchildren(element: Element, tag: str, inner: str) -> list[Element]:
    """``iterfind("tag/inner")``: every ``inner`` of every ``tag`` child, in document order,
    without ElementPath's generators."""
    return [found for outer in element.iterchildren(tag) for found in outer.iterchildren(inner)]


def cpuset_ref(element: Element, attribute: str) -> CpusetRef | None:
    """The cpuset/nodeset in ``attribute``, parsed; None when the attribute is absent."""
    text = element.get(attribute)
    if text is None:
        return None
    try:
        return CpusetRef(element, attribute, text, parse_cpuset(text))
    except CpusetError as exc:
        return CpusetRef(element, attribute, text, None, str(exc))


def ids_in_text(text: str | None) -> frozenset[int] | None:
    """A cpuset/nodeset written as element text; None when absent or invalid."""
    if text is None:
        return None
    try:
        return parse_cpuset(text)
    except CpusetError:
        return None


def hex_uint(text: str | None) -> int | None:
    """An unsigned number libvirt reads in base 16 (``0x`` prefix optional), or None."""
    if text is None or len(text) > 40:
        return None
    try:
        value = int(text.strip(), 16)
    except ValueError:
        return None
    return value if 0 <= value < 2**64 else None


def signed_int(text: str | None) -> int | None:
    """A signed decimal integer (libvirt's virStrToLong_i), or None."""
    if text is None:
        return None
    try:
        return int(text.strip(), 10)
    except ValueError:
        return None


def size_of_element(element: Element | None) -> MemorySize | None:
    """A size written as element text with a ``unit`` attribute: ``<memory unit='GiB'>4``."""
    if element is None:
        return None
    text = element.text or ""
    unit = element.get("unit")
    return MemorySize(element, to_kib(text, unit), text.strip(), unit)


def size_of_attribute(element: Element, attribute: str, unit_attribute: str) -> MemorySize | None:
    """A size written as an attribute with its unit in another (``<cell memory= unit=>``)."""
    text = element.get(attribute)
    if text is None:
        return None
    unit = element.get(unit_attribute)
    return MemorySize(element, to_kib(text, unit), text, unit)
