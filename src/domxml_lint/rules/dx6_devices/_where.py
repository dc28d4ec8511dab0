"""Helpers the address and controller rules share (not a rule module).

How messages name another device; and a per-document memo for the replays several
rules report from (each rule reports one kind of problem).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ...rule import RuleContext

T = TypeVar("T")


def a_device(tag: str) -> str:
    """``an <interface>``, ``a <disk>``: how messages name another device (by kind only: a
    line number would go stale as soon as a fix elsewhere moves the lines)."""
    article = "an" if tag[0] in "aeiou" else "a"
    return f"{article} <{tag}>"


def per_document(compute: Callable[[RuleContext], T]) -> Callable[[RuleContext], T]:
    """``compute`` run once per document (its facts), however many rules ask for it.

    Rules run document by document, so the last document's result is the one kept (a
    WeakKeyDictionary cost two weak references per call); holding its facts keeps their
    identity from being reused by another document's.
    """
    last: list[Any] = [None, None]  # facts, result

    def cached(ctx: RuleContext) -> T:
        facts = ctx.facts
        if last[0] is not facts:
            result = compute(ctx)
            last[0], last[1] = facts, result
        return last[1]

    cached.__doc__ = compute.__doc__
    return cached
