"""Edit helpers shared by rule modules (not a rule module).

They put a new child where libvirt's own element order has it, so a fixed file
reads the way ``virsh dumpxml`` writes it; and they build one edit where a fix
adds several children or attributes at one point (two insertions at the same
offset conflict in the fix loop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lxml import etree

from ..edits import NewElement, new_element
from ..findings import Edit
from ..rule import RuleContext
from ..units import express_kib

Element = etree._Element

#: Where libvirt writes top-level elements, so an inserted one lands in its usual place.
DOMAIN_ORDER = (
    "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
    "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads",
    "iothreadids", "defaultiothread", "cputune", "numatune", "resource", "sysinfo", "bootloader",
    "bootloader_args", "os", "idmap", "features", "cpu", "clock", "on_poweroff", "on_reboot",
    "on_crash", "on_lockfailure", "pm", "perf", "devices",
)  # fmt: skip

VIRTIO_MODELS = frozenset({"virtio", "virtio-transitional", "virtio-non-transitional"})


def set_attributes(ctx, element: Element, values: Mapping[str, str]) -> list[Edit]:
    """Edits setting several attributes; the new ones are appended in a single edit."""
    edits: list[Edit] = []
    appended: list[Edit] = []
    for name, value in values.items():
        if element.get(name) == value:
            continue
        edit = ctx.edit.set_attribute(element, name, value)
        (appended if element.get(name) is None else edits).append(edit)
    if appended:
        edits.append(Edit(appended[0].start, appended[0].end, "".join(e.content for e in appended)))
    return edits


def insert_children(
    ctx,
    parent: Element,
    children: Sequence[NewElement],
    *,
    before: Element | None = None,
    after: Element | None = None,
) -> Edit:
    """One edit inserting ``children`` (in order) where ``insert_child`` would put one."""
    edits = [ctx.edit.insert_child(parent, child, before=before, after=after) for child in children]
    if len(edits) == 1:
        return edits[0]
    first = edits[0]
    doc = ctx.doc
    span = doc.span(parent)
    has_elements = any(isinstance(c.tag, str) for c in parent)
    opens_up = span.self_closing or (
        not has_elements and doc.indentation_at(span.end_start) is None
    )
    if before is None and after is None and opens_up:
        newline = doc.style.newline
        child_indent = ctx.edit.child_indent(parent)
        parent_indent = doc.indentation_at(span.start) or ""
        body = "".join(
            newline + child_indent + ctx.edit.render(child, child_indent) for child in children
        )
        if span.self_closing:
            content = f">{body}{newline}{parent_indent}</{parent.tag}>"
            return Edit(first.start, first.end, content, anchor=first.anchor)
        return Edit(first.start, first.end, body + newline + parent_indent, anchor=first.anchor)
    return Edit(first.start, first.end, "".join(e.content for e in edits), anchor=first.anchor)


def insert_top_level(ctx, child: NewElement) -> Edit:
    """Insert a child of ``<domain>`` after the elements libvirt writes before it."""
    root = ctx.doc.root
    rank = DOMAIN_ORDER.index(child.tag) if child.tag in DOMAIN_ORDER else len(DOMAIN_ORDER)
    previous = None
    for element in root:
        if not isinstance(element.tag, str):
            continue
        position = DOMAIN_ORDER.index(element.tag) if element.tag in DOMAIN_ORDER else None
        if position is not None and position <= rank:
            previous = element
    if previous is not None:
        return ctx.edit.insert_child(root, child, after=previous)
    first = next((e for e in root if isinstance(e.tag, str)), None)
    return ctx.edit.insert_child(root, child, before=first)


def ensure_feature(ctx, name: str, attributes: Mapping[str, str] | None = None) -> list[Edit]:
    """Edits that make ``<features><name .../>`` carry ``attributes`` (creating what is missing)."""
    attributes = dict(attributes or {})
    features = ctx.facts.features
    if features is None:
        return [insert_top_level(ctx, new_element("features", None, new_element(name, attributes)))]
    existing = features.find(name)
    if existing is None:
        return [ctx.edit.insert_child(features, new_element(name, attributes))]
    return set_attributes(ctx, existing, attributes)


def merge_insertions(edits: Sequence[Edit]) -> list[Edit]:
    """Join pure insertions at the same offset (in order) so that one fix can carry them."""
    merged: list[Edit] = []
    for edit in edits:
        same_point = [i for i, e in enumerate(merged) if e.start == e.end == edit.start == edit.end]
        if same_point:
            i = same_point[0]
            merged[i] = Edit(
                edit.start, edit.end, merged[i].content + edit.content, anchor=edit.anchor
            )
        else:
            merged.append(edit)
    return merged


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
