"""The fix checker of tests/fixcheck.py catches the fixes it is there to catch.

Each case is a real rule (made with the same ``@rule`` decorator as the built-in
ones) whose fix misbehaves in one way; the checker must reject it, while the
well-behaved built-in fixes pass.
"""

from __future__ import annotations

import re

import pytest

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.findings import Edit
from domxml_lint.linter import Linter
from domxml_lint.plugins import load_ruleset
from domxml_lint.rule import rule
from fixcheck import check_trace, trace_fix

DOC = b"""<domain type='kvm'>
  <name>g</name>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='writeback'/>
      <source file='/a.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='default'/>
      <model type='rtl8139'/>
    </interface>
  </devices>
</domain>
"""


def linter_with(*rules) -> Linter:
    return Linter(list(rules), load_ruleset())


@rule(
    code="TST001",
    name="rewrite-devices",
    severity="warning",
    summary="s",
    fix="safe",
    triggers=("model",),
)
def rewrite_devices(ctx):
    """Rewrites the whole <devices> block to change one attribute (and the quotes)."""
    devices = ctx.facts.devices
    model = devices.find("interface/model")
    if model.get("type") == "virtio":
        return
    span = ctx.doc.span(devices)
    text = (
        ctx.doc.data[span.start : span.end].decode().replace("rtl8139", "virtio").replace("'", '"')
    )
    yield ctx.finding(model, "m", fix=ctx.safe_fix("t", Edit(span.start, span.end, text)))


@rule(
    code="TST002",
    name="cut-element",
    severity="warning",
    summary="s",
    fix="safe",
    triggers=("model",),
)
def cut_element(ctx):
    """Replaces from inside <source> to inside <model>: both cut in two."""
    interface = ctx.facts.devices.find("interface")
    source, model = interface.find("source"), interface.find("model")
    if model.get("type") == "virtio":
        return
    start = ctx.doc.span(source).start + 8
    end = ctx.doc.span(model).start + 13
    replacement = ctx.doc.data[start:end].decode().replace("rtl8139", "virtio")
    yield ctx.finding(model, "m", fix=ctx.safe_fix("t", Edit(start, end, replacement)))


@rule(
    code="TST003",
    name="rename-tag",
    severity="warning",
    summary="s",
    fix="safe",
    triggers=("model",),
)
def rename_tag(ctx):
    """Renames <model> by editing its start tag's name."""
    model = ctx.facts.devices.find("interface/model")
    if model is None:
        return
    start = ctx.doc.span(model).start
    yield ctx.finding(model, "m", fix=ctx.safe_fix("t", Edit(start + 1, start + 6, "modal")))


@rule(
    code="TST004",
    name="clobber-attributes",
    severity="warning",
    summary="s",
    fix="safe",
    triggers=("driver",),
)
def clobber_attributes(ctx):
    """Sets cache by rewriting every attribute of <driver> (dropping type='raw')."""
    driver = ctx.facts.disks[0].driver
    if driver.get("cache") == "none":
        return
    span = ctx.doc.span(driver)
    first = ctx.doc.attribute_span(driver, "name").name_start
    yield ctx.finding(
        driver,
        "m",
        fix=ctx.safe_fix("t", Edit(first, span.start_end - 2, "name='qemu' cache='none'")),
    )


@rule(
    code="TST005",
    name="breaks-io",
    severity="warning",
    summary="s",
    fix="safe",
    triggers=("driver",),
)
def breaks_io(ctx):
    """Adds io='native' to a disk whose cache is writeback: DX404, an error, appears."""
    driver = ctx.facts.disks[0].driver
    if driver.get("io") is None:
        yield ctx.finding(
            driver, "m", fix=ctx.safe_fix("t", ctx.edit.set_attribute(driver, "io", "native"))
        )


@rule(
    code="TST006",
    name="never-fixed",
    severity="warning",
    summary="s",
    fix="safe",
    triggers=("model",),
)
def never_fixed(ctx):
    """Its fix writes the value that is already there: the finding comes straight back."""
    model = ctx.facts.devices.find("interface/model")
    yield ctx.finding(
        model, "m", fix=ctx.safe_fix("t", ctx.edit.set_attribute(model, "type", model.get("type")))
    )


@pytest.mark.parametrize(
    "bad_rule,message",
    [
        (rewrite_devices, "inserts elements while removing"),
        (cut_element, "cuts"),
        (rename_tag, "rewrites the name"),
        (clobber_attributes, re.escape("attributes ['cache', 'type'] changed by 1")),
        (never_fixed, "was fixed but is found again"),
    ],
)
def test_checker_rejects_misbehaving_fixes(bad_rule, message):
    trace = trace_fix(Document.parse(DOC, "g.xml"), linter_with(bad_rule), unsafe=False)
    with pytest.raises(AssertionError, match=message):
        check_trace(trace)


def test_checker_rejects_a_fix_that_introduces_an_error():
    dx404 = next(r for r in load_ruleset().rules if r.code == "DX404")
    trace = trace_fix(Document.parse(DOC, "g.xml"), linter_with(breaks_io, dx404), unsafe=False)
    with pytest.raises(AssertionError, match="introduced errors"):
        check_trace(trace)


def test_checker_accepts_the_builtin_fixes():
    doc = DOC.replace(b"cache='writeback'", b"cache='writeback' io='native'")
    trace = trace_fix(Document.parse(doc, "g.xml"), build_linter(select="ALL"), unsafe=True)
    assert trace.applied
    check_trace(trace)
