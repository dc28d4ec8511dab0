"""Where an element is, for messages that point at another device (not a rule module)."""

from __future__ import annotations

from lxml import etree

from ...rule import RuleContext


def line_of(ctx: RuleContext, element: etree._Element) -> int:
    """The line of the element's start tag (lxml's ``sourceline`` is where the tag ends)."""
    return ctx.doc.position(ctx.doc.span(element).start)[0]


def device_on_line(ctx: RuleContext, element: etree._Element) -> str:
    """``the <interface> on line 12``."""
    return f"the <{element.tag}> on line {line_of(ctx, element)}"
