"""Edit helpers shared by several built-in rule families (not a rule module).

They pick where a new child goes in libvirt's own element order, so a fixed
file reads the way ``virsh dumpxml`` would write it.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from ..edits import NewElement, new_element
from ..findings import Edit
from ..rule import RuleContext
from ..units import express_kib

Element = etree._Element


def insert_in_order(
    ctx: RuleContext,
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
        return ctx.edit.insert_child(parent, child, after=previous)
    if before:
        following = next(parent.iterchildren(*before), None)
        if following is not None:
            return ctx.edit.insert_child(parent, child, before=following)
    return ctx.edit.insert_child(parent, child)


def set_driver_attribute(
    ctx: RuleContext,
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
        return ctx.edit.set_attribute(driver, name, value)
    return insert_in_order(
        ctx, device, new_element("driver", {name: value}), after=after, before=before
    )


def size_edits(
    ctx: RuleContext,
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
        edits.append(ctx.edit.set_attribute(element, unit_attribute, "KiB"))
    if value_attribute is None:
        edits.append(ctx.edit.replace_text(element, text))
    else:
        edits.append(ctx.edit.set_attribute(element, value_attribute, text))
    return edits
