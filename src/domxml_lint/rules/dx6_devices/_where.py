"""Helpers the address and controller rules share (not a rule module).

Where an element is, for messages that point at another device; and a per-document
memo for the replays several rules report from (each rule reports one kind of problem).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from lxml import etree

from ...rule import RuleContext

T = TypeVar("T")


def line_of(ctx: RuleContext, element: etree._Element) -> int:
    """The line of the element's start tag (lxml's ``sourceline`` is where the tag ends)."""
    return ctx.doc.position(ctx.doc.span(element).start)[0]


def device_on_line(ctx: RuleContext, element: etree._Element) -> str:
    """``the <interface> on line 12``."""
    return f"the <{element.tag}> on line {line_of(ctx, element)}"


def per_document(compute: Callable[[RuleContext], T]) -> Callable[[RuleContext], T]:
    """``compute`` run once per document (its facts), however many rules ask for it."""
    results: WeakKeyDictionary[Any, T] = WeakKeyDictionary()

    def cached(ctx: RuleContext) -> T:
        facts = ctx.facts
        if facts not in results:
            results[facts] = compute(ctx)
        return results[facts]

    cached.__doc__ = compute.__doc__
    return cached
