"""Edit builders: minimal byte edits on the original text, in the file's own style.

Every builder returns one :class:`Edit` that touches only the bytes it must:
an attribute value, a start tag's tail, or whole lines of an element. Inserted
text follows the file's quote character, indentation unit and newline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from lxml import etree

from ._records import NamedTuple
from .document import Document
from .findings import Edit
from .units import express_kib

Element = etree._Element

_TAG_NAME = re.compile(rb"<([^\s/>]+)")
_ATTRIBUTE_END = re.compile(rb"[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_WHITESPACE = b" \t\r\n"

#: Where libvirt writes top-level elements, so an inserted one lands in its usual place.
DOMAIN_ORDER = (
    "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
    "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads",
    "iothreadids", "defaultiothread", "cputune", "numatune", "resource", "sysinfo", "bootloader",
    "bootloader_args", "os", "idmap", "features", "cpu", "clock", "on_poweroff", "on_reboot",
    "on_crash", "on_lockfailure", "pm", "perf", "devices",
)  # fmt: skip


class NewElement(NamedTuple):
    """An element to insert, rendered in the file's style by :class:`Editor`."""

    tag: str
    attributes: tuple[tuple[str, str], ...] = ()
    children: tuple[NewElement, ...] = ()
    text: str | None = None


def new_element(
    tag: str,
    attributes: dict[str, str] | None = None,
    *children: NewElement,
    text: str | None = None,
) -> NewElement:
    """``new_element("page", {"size": "2048"})`` -> ``<page size='2048'/>`` in the file's style."""
    return NewElement(tag, tuple((attributes or {}).items()), tuple(children), text)


def escape_attribute(value: str, quote: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;")
    value = value.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return value.replace(quote, "&apos;" if quote == "'" else "&quot;")


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Editor:
    """Builds edits against one :class:`Document`."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc

    # -- attributes ----------------------------------------------------------------

    def set_attribute(self, element: Element, name: str, value: str) -> Edit:
        """Set ``name``: replace its value in place, or append it after the last attribute."""
        doc = self.doc
        existing = doc.attribute_span(element, name)
        if existing is not None:
            return Edit(
                existing.value_start,
                existing.value_end,
                escape_attribute(value, existing.quote),
            )
        quote = doc.style.quote
        point = self._after_last_attribute(element)
        return Edit(point, point, f" {name}={quote}{escape_attribute(value, quote)}{quote}")

    def remove_attribute(self, element: Element, name: str) -> Edit:
        """Remove ``name='value'`` together with the whitespace before it."""
        span = self.doc.attribute_span(element, name)
        if span is None:
            raise ValueError(f"element has no attribute {name!r}")
        start = span.name_start
        data = self.doc.data
        while start > 0 and data[start - 1] in _WHITESPACE:
            start -= 1
        return Edit(start, span.end, "")

    def set_attributes(self, element: Element, values: Mapping[str, str]) -> list[Edit]:
        """Edits setting several attributes; the new ones are appended in a single edit."""
        edits: list[Edit] = []
        appended: list[Edit] = []
        for name, value in values.items():
            if element.get(name) == value:
                continue
            edit = self.set_attribute(element, name, value)
            (appended if element.get(name) is None else edits).append(edit)
        if appended:
            content = "".join(e.content for e in appended)
            edits.append(Edit(appended[0].start, appended[0].end, content))
        return edits

    def resize(
        self,
        element: Element,
        kib: int,
        *,
        value_attribute: str | None = None,
        unit_attribute: str = "unit",
    ) -> list[Edit]:
        """Edits that make a scaled size (element text, or ``value_attribute``) equal ``kib``.

        The size keeps its own unit when ``kib`` is a whole number of it; otherwise
        it is rewritten in KiB, the unit every size accepts exactly.
        """
        unit = element.get(unit_attribute)
        text = express_kib(kib, unit)
        edits: list[Edit] = []
        if text is None:
            text = str(kib)
            edits.append(self.set_attribute(element, unit_attribute, "KiB"))
        if value_attribute is None:
            edits.append(self.replace_text(element, text))
        else:
            edits.append(self.set_attribute(element, value_attribute, text))
        return edits

    # -- elements ------------------------------------------------------------------

    def insert_child(
        self,
        parent: Element,
        child: NewElement,
        *,
        before: Element | None = None,
        after: Element | None = None,
    ) -> Edit:
        """Insert ``child`` into ``parent``: before or after a sibling, else as the last child.

        The child is indented like its siblings, or like the parent plus the file's
        indent unit; a self-closing parent is opened.
        """
        return self.insert_children(parent, (child,), before=before, after=after)

    def insert_children(
        self,
        parent: Element,
        children: Sequence[NewElement],
        *,
        before: Element | None = None,
        after: Element | None = None,
    ) -> Edit:
        """One edit inserting ``children`` (in order) where :meth:`insert_child` puts one.

        A fix that adds several children at one point needs one edit: two insertions
        at the same offset would conflict in the fix loop.
        """
        doc = self.doc
        anchor = doc.span(parent).start
        newline = doc.style.newline
        child_indent = self.child_indent(parent)
        if before is not None:
            start = doc.span(before).start
            indent = doc.indentation_at(start)
            if indent is None:
                content = "".join(self.render(c, child_indent) for c in children)
                return Edit(start, start, content, anchor=anchor)
            line_start = start - len(indent)
            content = "".join(indent + self.render(c, indent) + newline for c in children)
            return Edit(line_start, line_start, content, anchor=anchor)
        if after is not None:
            span = doc.span(after)
            indent = doc.indentation_at(span.start)
            if indent is None:
                content = "".join(self.render(c, child_indent) for c in children)
            else:
                content = "".join(newline + indent + self.render(c, indent) for c in children)
            return Edit(span.end, span.end, content, anchor=anchor)

        span = doc.span(parent)
        parent_indent = doc.indentation_at(span.start) or ""
        on_own_lines = "".join(
            newline + child_indent + self.render(c, child_indent) for c in children
        )
        if span.self_closing:
            slash = span.start_end - 2
            while doc.data[slash - 1] in _WHITESPACE:
                slash -= 1
            closing = f"</{self._qname(parent)}>"
            content = f">{on_own_lines}{newline}{parent_indent}{closing}"
            return Edit(slash, span.start_end, content, anchor=anchor)
        indent = doc.indentation_at(span.end_start)
        if indent is not None:  # the closing tag stands on its own line
            line_start = span.end_start - len(indent)
            content = "".join(
                child_indent + self.render(c, child_indent) + newline for c in children
            )
            return Edit(line_start, line_start, content, anchor=anchor)
        has_elements = any(isinstance(c.tag, str) for c in parent)
        if has_elements or (parent.text or "").strip():
            content = "".join(self.render(c, child_indent) for c in children)
            return Edit(span.end_start, span.end_start, content, anchor=anchor)
        # Empty parent written on one line: open it up.
        content = f"{on_own_lines}{newline}{parent_indent}"
        return Edit(span.end_start, span.end_start, content, anchor=anchor)

    def insert_in_order(
        self,
        parent: Element,
        child: NewElement,
        *,
        after: Sequence[str] = (),
        before: Sequence[str] = (),
    ) -> Edit:
        """Insert ``child`` into ``parent`` after the last of the ``after`` children present,
        else before the first of the ``before`` children present, else as the last child.
        """
        previous = None
        for candidate in parent.iterchildren(*after) if after else ():
            previous = candidate
        if previous is not None:
            return self.insert_child(parent, child, after=previous)
        if before:
            following = next(parent.iterchildren(*before), None)
            if following is not None:
                return self.insert_child(parent, child, before=following)
        return self.insert_child(parent, child)

    def insert_top_level(self, child: NewElement) -> Edit:
        """Insert a child of ``<domain>`` after the elements libvirt writes before it."""
        root = self.doc.root
        rank = DOMAIN_ORDER.index(child.tag) if child.tag in DOMAIN_ORDER else len(DOMAIN_ORDER)
        previous = None
        for element in root:
            if not isinstance(element.tag, str):
                continue
            position = DOMAIN_ORDER.index(element.tag) if element.tag in DOMAIN_ORDER else None
            if position is not None and position <= rank:
                previous = element
        if previous is not None:
            return self.insert_child(root, child, after=previous)
        first = next((e for e in root if isinstance(e.tag, str)), None)
        return self.insert_child(root, child, before=first)

    def ensure_feature(self, name: str, attributes: Mapping[str, str] | None = None) -> list[Edit]:
        """Edits that make ``<features><name/>`` carry ``attributes`` (adding what is missing)."""
        attributes = dict(attributes or {})
        features = next(self.doc.root.iterchildren("features"), None)
        if features is None:
            feature = new_element(name, attributes)
            return [self.insert_top_level(new_element("features", None, feature))]
        existing = next(features.iterchildren(name), None)
        if existing is None:
            return [self.insert_child(features, new_element(name, attributes))]
        return self.set_attributes(existing, attributes)

    def set_driver_attribute(
        self,
        device: Element,
        driver: Element | None,
        name: str,
        value: str,
        *,
        after: Sequence[str] = (),
        before: Sequence[str] = (),
    ) -> Edit:
        """Set ``<driver name=value>`` on a device, adding a ``<driver>`` child when it has none."""
        if driver is not None:
            return self.set_attribute(driver, name, value)
        return self.insert_in_order(
            device, new_element("driver", {name: value}), after=after, before=before
        )

    def remove_element(self, element: Element) -> Edit:
        """Remove an element; its whole line(s) too when it stands alone on them."""
        span = self.doc.span(element)
        return self.remove_span(span.start, span.end)

    def remove_span(self, start: int, end: int) -> Edit:
        """Remove bytes ``start:end``; the whole line(s) when nothing else is on them."""
        doc = self.doc
        line_start, _ = doc.line_bounds(start)
        after_newline = doc.data.find(b"\n", end)
        line_end = len(doc.data) if after_newline == -1 else after_newline + 1
        if not doc.data[line_start:start].strip(b" \t") and not doc.data[end:line_end].strip(
            _WHITESPACE
        ):
            start, end = line_start, line_end
        return Edit(start, end, "")

    def replace_text(self, element: Element, text: str) -> Edit:
        """Replace the text content of an element that has no child elements."""
        if any(isinstance(c.tag, str) for c in element):
            raise ValueError("element has child elements; replace_text needs a leaf")
        span = self.doc.span(element)
        if span.self_closing:
            slash = span.start_end - 2
            while self.doc.data[slash - 1] in _WHITESPACE:
                slash -= 1
            content = f">{escape_text(text)}</{self._qname(element)}>"
            return Edit(slash, span.start_end, content)
        return Edit(span.start_end, span.end_start, escape_text(text))

    @staticmethod
    def merge_insertions(edits: Sequence[Edit]) -> list[Edit]:
        """Join pure insertions at the same offset (in order) so that one fix can carry them."""
        merged: list[Edit] = []
        for edit in edits:
            same_point = [
                i for i, e in enumerate(merged) if e.start == e.end == edit.start == edit.end
            ]
            if same_point:
                i = same_point[0]
                merged[i] = Edit(
                    edit.start, edit.end, merged[i].content + edit.content, anchor=edit.anchor
                )
            else:
                merged.append(edit)
        return merged

    # -- rendering -----------------------------------------------------------------

    def render(self, element: NewElement, indent: str) -> str:
        """``element`` as text; nested children go on their own lines below ``indent``."""
        style = self.doc.style
        quote = style.quote
        attributes = "".join(
            f" {name}={quote}{escape_attribute(value, quote)}{quote}"
            for name, value in element.attributes
        )
        if element.children:
            inner_indent = indent + style.indent
            inner = "".join(
                f"{style.newline}{inner_indent}{self.render(child, inner_indent)}"
                for child in element.children
            )
            return f"<{element.tag}{attributes}>{inner}{style.newline}{indent}</{element.tag}>"
        if element.text is not None:
            return f"<{element.tag}{attributes}>{escape_text(element.text)}</{element.tag}>"
        return f"<{element.tag}{attributes}/>"

    def child_indent(self, parent: Element) -> str:
        """Indentation for a child of ``parent``: its siblings', else the parent's plus one unit."""
        doc = self.doc
        for child in parent:
            if isinstance(child.tag, str):
                indent = doc.indentation_at(doc.span(child).start)
                if indent is not None:
                    return indent
                break
        parent_indent = doc.indentation_at(doc.span(parent).start) or ""
        return parent_indent + doc.style.indent

    # -- helpers -------------------------------------------------------------------

    def _qname(self, element: Element) -> str:
        span = self.doc.span(element)
        match = _TAG_NAME.match(self.doc.data, span.start)
        assert match is not None
        return match.group(1).decode(self.doc.encoding)

    def _after_last_attribute(self, element: Element) -> int:
        doc = self.doc
        span = doc.span(element)
        name = _TAG_NAME.match(doc.data, span.start)
        assert name is not None
        point = name.end()
        for match in _ATTRIBUTE_END.finditer(doc.data, point, span.start_end):
            point = match.end()
        return point
