"""The fix loop: conflicts wait for the next pass, output must parse, runs are idempotent."""

from __future__ import annotations

import pytest

from domxml_lint import rule
from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.errors import InternalError
from domxml_lint.findings import Edit
from domxml_lint.fixer import choose_fixes, edits_conflict, fix_document
from domxml_lint.linter import Linter
from domxml_lint.ruleset import RuleSet


@pytest.mark.parametrize(
    "a,b,conflict",
    [
        ((0, 5), (5, 9), False),  # touching replacements
        ((0, 5), (4, 9), True),  # overlapping
        ((3, 3), (3, 3), True),  # two insertions at one point
        ((3, 3), (4, 4), False),
        ((3, 3), (0, 5), True),  # insertion inside a replacement
        ((0, 3), (3, 3), False),  # insertion right after a replacement
        ((3, 6), (3, 3), True),  # insertion at a replacement's start
    ],
)
def test_edits_conflict(a, b, conflict):
    ea, eb = Edit(*a, "x"), Edit(*b, "y")
    assert edits_conflict(ea, eb) is conflict
    assert edits_conflict(eb, ea) is conflict


CONFLICTING = b"""<domain type='kvm'>
  <name>c</name>
  <devices>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='unsafe' io='native'/>
      <source dev='/dev/sdb'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
"""


def test_overlapping_fixes_wait_for_the_next_pass():
    linter = build_linter(select=["DX401", "DX404"])
    doc = Document.parse(CONFLICTING, "c.xml")
    findings = linter.check(doc).findings
    assert {f.code for f in findings} == {"DX401", "DX404"}
    chosen = choose_fixes(findings, unsafe=True)
    assert len(chosen) == 1  # both rewrite the same cache value
    result = fix_document(doc, linter, unsafe=True)
    assert result.data == CONFLICTING.replace(b"cache='unsafe'", b"cache='none'")
    assert [f.code for f in result.applied] == [chosen[0].code]
    assert result.remaining == ()


def test_safe_only_without_unsafe():
    linter = build_linter(select=["DX401", "DX404"])
    doc = Document.parse(CONFLICTING, "c.xml")
    safe = fix_document(doc, linter, unsafe=False)
    assert [f.code for f in safe.applied] == ["DX404"]
    again = fix_document(Document.parse(safe.data, "c.xml"), linter, unsafe=False)
    assert not again.changed


@rule(code="ZZ001", name="breaks-xml", severity="error", summary="test rule", fix="safe")
def _breaks_xml(ctx):
    """A rule whose fix deletes the root's closing '>'."""
    span = ctx.doc.span(ctx.doc.root)
    yield ctx.finding(
        ctx.doc.root, "broken", fix=ctx.safe_fix("break", Edit(span.end - 1, span.end, ""))
    )


@rule(code="ZZ002", name="lies-about-safety", severity="error", summary="test rule", fix="safe")
def _lies(ctx):
    """A rule that declares safe fixes but offers an unsafe one."""
    yield ctx.finding(
        ctx.doc.root, "x", fix=ctx.unsafe_fix("t", ctx.edit.set_attribute(ctx.doc.root, "a", "b"))
    )


def test_fix_that_breaks_xml_is_an_internal_error():
    linter = Linter([_breaks_xml], RuleSet([_breaks_xml]))
    doc = Document.parse(b"<domain><name>x</name></domain>", "b.xml")
    with pytest.raises(InternalError) as info:
        fix_document(doc, linter)
    assert "ZZ001" in info.value.message and "nothing was written" in info.value.message


def test_rule_whose_fix_contradicts_its_metadata_is_caught():
    linter = Linter([_lies], RuleSet([_lies]))
    with pytest.raises(InternalError, match="declares fix=safe"):
        linter.check(Document.parse(b"<domain/>", "l.xml"))


def test_crashing_rule_is_reported_with_its_code():
    @rule(code="ZZ003", name="crashes", severity="error", summary="test rule")
    def crashes(ctx):
        """Raises."""
        raise KeyError("boom")
        yield

    linter = Linter([crashes], RuleSet([crashes]))
    with pytest.raises(InternalError, match=r"ZZ003 \(crashes\).*KeyError"):
        linter.check(Document.parse(b"<domain/>", "k.xml"))


def test_insertions_into_one_element_wait_for_the_next_pass():
    a = Edit(10, 10, "<driver a='1'/>", anchor=5)
    b = Edit(40, 40, "<driver b='2'/>", anchor=5)
    elsewhere = Edit(40, 40, "<x/>", anchor=99)
    assert edits_conflict(a, b) and not edits_conflict(a, elsewhere)


SCSI_CONTROLLER = b"""<domain type='kvm'>
  <name>s</name>
  <memory unit='GiB'>4</memory>
  <vcpu placement='static'>4</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-4.2'>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file='/var/lib/libvirt/images/s.img'/>
      <target dev='sda' bus='scsi'/>
    </disk>
    <controller type='scsi' index='0' model='virtio-scsi'>
      <alias name='scsi0'/>
    </controller>
  </devices>
</domain>
"""


def test_two_rules_adding_a_driver_to_one_controller_make_one_driver():
    # iothreads-suggested and virtio-scsi-queues-missing each add a <driver> to the
    # controller at a different place; in one pass that made two (schema-invalid).
    from lxml import etree

    linter = build_linter(select=["iothreads-suggested", "virtio-scsi-queues-missing"])
    result = fix_document(Document.parse(SCSI_CONTROLLER, "s.xml"), linter, unsafe=True)
    drivers = etree.fromstring(result.data).findall("devices/controller/driver")
    assert len(drivers) == 1
    assert drivers[0].get("iothread") == "1" and drivers[0].get("queues") == "4"
    assert {f.code for f in result.applied} == {"DX441", "DX408"}


# -- the fix loop's passes run the fixing rules first, the rest only on the last document ------


def _fixture_documents() -> list[Document]:
    from helpers import RULE_FIXTURES

    docs = []
    for path in sorted(RULE_FIXTURES.glob("*/*.xml")):
        doc = Document.parse(path.read_bytes(), str(path))
        if doc.root.tag == "domain":
            docs.append(doc)
    return docs


def test_fixing_rules_then_the_rest_give_what_one_check_gives():
    linter = build_linter(select="ALL")
    partial_checks = 0
    for doc in _fixture_documents():
        whole = linter.check(doc)
        partial = linter.check_fixable(doc)
        if partial is None:  # suppression comments: the fix loop checks the whole document
            continue
        partial_checks += 1
        offered = [f for f in partial.findings if f.fix is not None]
        assert offered == [f for f in whole.findings if f.fix is not None], doc.path
        completed = linter.complete(partial)
        assert completed.findings == whole.findings, doc.path
        assert completed.notes == whole.notes, doc.path
    assert partial_checks > 100


def test_a_document_with_suppressions_is_checked_whole_between_passes():
    doc = Document.parse(
        b"<domain type='kvm'><name>a</name><memory>1</memory><vcpu>1</vcpu>"
        b"<!-- domxml-lint: disable=DX404 --><devices/></domain>"
    )
    assert build_linter(select="ALL").check_fixable(doc) is None


def test_fixes_that_need_a_second_pass_come_out_as_before():
    # DX403 sets cache='none'; only then does DX405 suggest io='native' on the raw image.
    data = b"""<domain type='kvm'>
  <name>two-passes</name>
  <memory unit='GiB'>1</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/libvirt/images/a.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
"""
    linter = build_linter(select="ALL")
    result = fix_document(Document.parse(data), linter, unsafe=True)
    assert {"DX403", "DX405"} <= {f.code for f in result.applied}
    assert b"cache='none'" in result.data and b"io='native'" in result.data
    # What is left is what a whole check of the fixed document finds.
    assert list(result.remaining) == linter.check(Document.parse(result.data)).findings


def test_the_originals_findings_are_those_of_a_whole_check():
    # The fix loop's first pass runs only the fixing rules too; ``found`` (what still stands
    # when the fixed file cannot be written) is derived on demand, and must be what one whole
    # check of the original finds.
    linter = build_linter(select="ALL")
    fixed = 0
    for doc in _fixture_documents():
        result = fix_document(doc, linter, unsafe=True)
        fixed += result.changed
        assert list(result.found) == linter.check(doc).findings, doc.path
    assert fixed > 100


# -- a fix's edits may be built on first use ---------------------------------------------------


def test_a_fix_builds_its_edits_on_first_use_only():
    from domxml_lint.findings import Applicability, Fix

    calls = []

    def build():
        calls.append(1)
        return [Edit(1, 2, "x")]

    fix = Fix(Applicability.SAFE, "t", build)
    assert calls == []
    assert fix.edits == (Edit(1, 2, "x"),) and fix.span == (1, 2)
    assert fix.edits == (Edit(1, 2, "x"),) and calls == [1]  # built once
    assert fix == Fix(Applicability.SAFE, "t", (Edit(1, 2, "x"),))


def test_settling_builds_or_drops_the_builder_and_pickles_either_way():
    import pickle

    from domxml_lint.findings import Applicability, Fix, edits_dropped

    kept = Fix(Applicability.UNSAFE, "t", lambda: [Edit(3, 3, "y", anchor=1)])
    kept.settle(True)
    assert pickle.loads(pickle.dumps(kept)).edits == (Edit(3, 3, "y", anchor=1),)
    dropped = Fix(Applicability.UNSAFE, "t", lambda: [Edit(3, 3, "y")])
    dropped.settle(False)
    back = pickle.loads(pickle.dumps(dropped))
    assert back._edits is edits_dropped and back.applicability is Applicability.UNSAFE
    with pytest.raises(AssertionError, match="dropped"):
        back.edits  # noqa: B018


def test_a_lazy_fix_gives_the_edits_an_eager_one_gave():
    # DX706 builds its edit only when asked; the JSON output still carries it.
    import json

    from helpers import run_cli

    data = (
        b"<domain type='kvm'><name>a</name><memory>1048576</memory><vcpu>1</vcpu>"
        b"<os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os><features><apic/>"
        b"</features></domain>\n"
    )
    doc = Document.parse(data)
    (finding,) = [f for f in build_linter(select=["DX706"]).check(doc).findings]
    assert callable(finding.fix._edits)  # not built while checking
    eager = rule_ctx_edits(doc)
    assert finding.fix.edits == eager
    out = run_cli("--no-config", "--select", "DX706", "--output-format", "json", "-", input=data)
    (record,) = json.loads(out.stdout)
    assert [(e["start"], e["end"], e["content"]) for e in record["fix"]["edits"]] == [
        (e.start, e.end, e.content) for e in eager
    ]


def rule_ctx_edits(doc: Document) -> tuple[Edit, ...]:
    from domxml_lint.edits import Editor

    return tuple(Editor(doc).ensure_feature("acpi"))
