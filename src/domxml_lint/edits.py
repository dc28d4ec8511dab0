"""Edit builders: minimal byte edits on the original text, in the file's own style.

Every builder returns one :class:`Edit` that touches only the bytes it must:
an attribute value, a start tag's tail, or whole lines of an element. Inserted
text follows the file's quote character, indentation unit and newline.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from lxml import etree

from .document import Document
from .findings import Edit

Element = etree._Element

_TAG_NAME = re.compile(rb"<([^\s/>]+)")
_ATTRIBUTE_END = re.compile(rb"[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_WHITESPACE = b" \t\r\n"


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
        doc = self.doc
        anchor = doc.span(parent).start
        newline = doc.style.newline
        child_indent = self.child_indent(parent)
        if before is not None:
            start = doc.span(before).start
            indent = doc.indentation_at(start)
            if indent is None:
                return Edit(start, start, self.render(child, child_indent), anchor=anchor)
            line_start = start - len(indent)
            return Edit(
                line_start, line_start, indent + self.render(child, indent) + newline, anchor=anchor
            )
        if after is not None:
            span = doc.span(after)
            indent = doc.indentation_at(span.start)
            if indent is None:
                return Edit(span.end, span.end, self.render(child, child_indent), anchor=anchor)
            return Edit(
                span.end, span.end, newline + indent + self.render(child, indent), anchor=anchor
            )

        span = doc.span(parent)
        parent_indent = doc.indentation_at(span.start) or ""
        rendered = self.render(child, child_indent)
        if span.self_closing:
            slash = span.start_end - 2
            while doc.data[slash - 1] in _WHITESPACE:
                slash -= 1
            closing = f"</{self._qname(parent)}>"
            content = f">{newline}{child_indent}{rendered}{newline}{parent_indent}{closing}"
            return Edit(slash, span.start_end, content, anchor=anchor)
        indent = doc.indentation_at(span.end_start)
        if indent is not None:
            line_start = span.end_start - len(indent)
            return Edit(line_start, line_start, child_indent + rendered + newline, anchor=anchor)
        if len(parent) and any(isinstance(c.tag, str) for c in parent):
            return Edit(span.end_start, span.end_start, rendered, anchor=anchor)
        # Empty or text-only parent written on one line: open it up.
        content = f"{newline}{child_indent}{rendered}{newline}{parent_indent}"
        if (parent.text or "").strip():
            content = f"{rendered}"
        return Edit(span.end_start, span.end_start, content, anchor=anchor)

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
