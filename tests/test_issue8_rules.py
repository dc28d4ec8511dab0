"""Behaviour of the issue-8 rules beyond their fixtures: heuristics, severities, edges, corpus."""

from __future__ import annotations

import pytest

from domxml_lint.api import build_linter, lint
from domxml_lint.document import Document
from domxml_lint.edits import Editor, new_element
from domxml_lint.facts import DomainFacts
from domxml_lint.findings import Edit
from domxml_lint.fixer import fix_document
from domxml_lint.rule import RuleContext
from helpers import CORPUS
from samples import GIB_4, domain

LIBOSINFO = "xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'"


def _domain(body: str, *, kind: str = "kvm", machine: str = "pc-q35-8.2", ns: str = "") -> str:
    return domain(
        body, name="t", memory=GIB_4, vcpu=None, machine=machine, virt_type=kind,
        root_attributes=f" {ns}" if ns else "",
    )  # fmt: skip


def _codes(xml: str, select: str) -> list[str]:
    return [f.code for f in lint(xml, select=[select])]


def _facts(xml: str) -> DomainFacts:
    return DomainFacts(Document.parse(xml.encode()))


# -- Windows detection -------------------------------------------------------------------


def _win_metadata(os_id: str) -> str:
    return (
        "  <metadata>\n    <libosinfo:libosinfo>\n"
        f"      <libosinfo:os id='{os_id}'/>\n    </libosinfo:libosinfo>\n  </metadata>"
    )


def test_windows_is_detected_from_libosinfo_metadata():
    facts = _facts(_domain(_win_metadata("http://microsoft.com/win/2k19"), ns=LIBOSINFO))
    assert facts.is_windows and facts.windows_os_id == "http://microsoft.com/win/2k19"


def test_windows_is_never_guessed_from_the_name():
    xml = _domain("  <title>Windows 10 build box</title>\n  <clock offset='localtime'/>")
    xml = xml.replace("<name>t</name>", "<name>win10-prod</name>")
    assert not _facts(xml).is_windows
    assert _codes(xml, "windows-hyperv-missing") == []


def test_localtime_clock_alone_is_not_windows_but_with_enlightenments_it_is():
    localtime = "  <clock offset='localtime'/>"
    hyperv = "  <features><hyperv><relaxed state='on'/></hyperv></features>"
    assert not _facts(_domain(localtime)).is_windows
    assert _facts(_domain(hyperv + "\n" + localtime)).is_windows
    assert not _facts(_domain(hyperv + "\n  <clock offset='utc'/>")).is_windows


def test_pre_vista_windows_gets_no_enlightenment_advice():
    xml = _domain(_win_metadata("http://microsoft.com/win/xp"), ns=LIBOSINFO)
    assert _facts(xml).is_windows
    assert _codes(xml, "windows-hyperv-missing") == []


def test_explicitly_disabled_stimer_is_respected():
    body = (
        _win_metadata("http://microsoft.com/win/10")
        + "\n  <features><hyperv><relaxed state='on'/><stimer state='off'/></hyperv></features>"
    )
    assert _codes(_domain(body, ns=LIBOSINFO), "windows-hyperv-missing") == []


def test_windows_fix_output_satisfies_the_dependency_rule():
    body = _win_metadata("http://microsoft.com/win/11")
    doc = Document.parse(_domain(body, ns=LIBOSINFO).encode())
    fixed = fix_document(doc, build_linter(select=["windows-hyperv-missing"]), unsafe=True)
    after = lint(fixed.output, select=["windows-hyperv-missing", "hyperv-dependency-missing",
                                       "hyperv-value-invalid"])  # fmt: skip
    assert after == []


def test_windows_rule_is_kvm_and_x86_only():
    body = _win_metadata("http://microsoft.com/win/10")
    assert _codes(_domain(body, ns=LIBOSINFO, kind="qemu"), "windows-hyperv-missing") == []
    arm = _domain(body, ns=LIBOSINFO).replace("arch='x86_64'", "arch='aarch64'")
    assert _codes(arm, "windows-hyperv-missing") == []


# -- Hyper-V -------------------------------------------------------------------------------


def test_hyperv_dependencies_are_not_checked_in_passthrough_mode():
    xml = _domain("  <features><hyperv mode='passthrough'><stimer state='on'/></hyperv></features>")
    assert _codes(xml, "hyperv-dependency-missing") == []


def test_hyperv_stimer_direct_needs_stimer_on():
    body = (
        "  <features><hyperv><vpindex state='on'/><synic state='on'/>"
        "<stimer state='off'><direct state='on'/></stimer></hyperv></features>"
    )
    findings = lint(_domain(body), select=["hyperv-dependency-missing"])
    assert [f.message.split(":")[0] for f in findings] == [
        "Hyper-V stimer direct requires Hyper-V stimer"
    ]


def test_hyperv_vendor_id_problems_have_no_fix():
    body = "  <features><hyperv><vendor_id state='on' value='A,B'/></hyperv></features>"
    (finding,) = lint(_domain(body), select=["hyperv-value-invalid"])
    assert "HyperV vendor_id value is invalid" in finding.message and finding.fix is None


# -- vCPUs ---------------------------------------------------------------------------------


def test_over_255_vcpus_on_i440fx_is_reported_without_a_fix():
    xml = _domain("  <vcpu>300</vcpu>", machine="pc-i440fx-8.2")
    (finding,) = lint(xml, select=["vcpus-over-255-need-iommu-eim"])
    assert "only supported on q35-based machine types" in finding.message
    assert finding.fix is None


def test_over_255_vcpus_with_a_virtio_iommu_gets_no_fix():
    xml = _domain("  <vcpu>300</vcpu>\n  <devices><iommu model='virtio'/></devices>")
    (finding,) = lint(xml, select=["vcpus-over-255-need-iommu-eim"])
    assert finding.fix is None


def test_255_vcpus_need_nothing():
    assert _codes(_domain("  <vcpu>255</vcpu>"), "vcpus-over-255-need-iommu-eim") == []


def test_all_vcpus_disabled_is_refused_for_qemu():
    body = (
        "  <vcpu current='1'>2</vcpu>\n  <vcpus><vcpu id='0' enabled='no'/>"
        "<vcpu id='1' enabled='no'/></vcpus>"
    )
    assert _codes(_domain(body), "vcpu-count-invalid") == ["DX140"]
    assert _codes(_domain(body, kind="xen"), "vcpu-count-invalid") == []


# -- cputune -------------------------------------------------------------------------------


def test_shares_above_cgroup_v2_range_warn_only_for_cgroup_drivers():
    body = "  <cputune><shares>20000</shares></cputune>"
    (finding,) = lint(_domain(body), select=["cputune-value-out-of-range"])
    assert finding.severity.value == "warning"
    assert _codes(_domain(body, kind="vmware"), "cputune-value-out-of-range") == []


# -- shared memory -------------------------------------------------------------------------


def test_passt_vhostuser_is_an_error_plain_vhostuser_a_warning():
    nic = (
        "  <devices><interface type='vhostuser'><backend type='passt'/>"
        "<source type='unix' path='/run/passt.sock'/><model type='virtio'/></interface>"
        "<interface type='vhostuser'><source type='unix' path='/run/ovs.sock' mode='client'/>"
        "<model type='virtio'/></interface></devices>"
    )
    findings = lint(_domain(nic), select=["vhostuser-needs-shared-memory"])
    assert [f.severity.value for f in findings] == ["error", "warning"]


def test_private_numa_cell_blocks_the_shared_memory_fix():
    body = (
        "  <cpu><numa><cell id='0' cpus='0' memory='4' unit='GiB' memAccess='private'/></numa>"
        "</cpu>\n  <devices><filesystem type='mount'><driver type='virtiofs'/>"
        "<source dir='/srv'/><target dir='srv'/></filesystem></devices>"
    )
    (finding,) = lint(_domain(body), select=["vhostuser-needs-shared-memory"])
    assert finding.fix is None


# -- IOThreads -------------------------------------------------------------------------------


def test_iothread_ids_follow_libvirt_numbering():
    facts = _facts(
        _domain("  <iothreads>3</iothreads>\n  <iothreadids><iothread id='5'/></iothreadids>")
    )
    assert facts.iothread_ids == {1, 2, 5}


def test_iothread_on_a_sata_disk_is_reported_without_a_fix():
    body = (
        "  <iothreads>1</iothreads>\n  <devices><disk type='file' device='disk'>"
        "<driver name='qemu' iothread='1'/><source file='/a'/><target dev='sda' bus='sata'/>"
        "</disk></devices>"
    )
    (finding,) = lint(_domain(body), select=["iothread-reference-invalid"])
    assert "IOThreads not available for bus sata" in finding.message and finding.fix is None


def test_iothreads_suggested_fix_covers_all_devices_in_one_pass():
    disks = "".join(
        f"<disk type='file' device='disk'><source file='/d{i}'/><target dev='vd{c}' bus='virtio'/>"
        "</disk>"
        for i, c in enumerate("abcdefghijkl")
    )
    xml = _domain(f"  <vcpu>4</vcpu>\n  <devices>{disks}</devices>")
    linter = build_linter(select=["iothreads-suggested", "iothread-reference-invalid"])
    fixed = fix_document(Document.parse(xml.encode()), linter, unsafe=True)
    assert fixed.converged and not fixed.remaining
    assert fixed.output.count("iothread='1'") == 12


# -- edit helpers ----------------------------------------------------------------------------


def _ctx(xml: str) -> RuleContext:
    doc = Document.parse(xml.encode())
    return RuleContext(doc, DomainFacts(doc))


@pytest.mark.parametrize(
    "parent_xml,expected",
    [
        ("<hyperv/>", "<hyperv>\n    <a/>\n    <b/>\n  </hyperv>"),
        ("<hyperv></hyperv>", "<hyperv>\n    <a/>\n    <b/>\n  </hyperv>"),
        ("<hyperv>\n    <x/>\n  </hyperv>", "<hyperv>\n    <x/>\n    <a/>\n    <b/>\n  </hyperv>"),
    ],
)
def test_insert_children_in_one_edit(parent_xml, expected):
    xml = f"<domain>\n  {parent_xml}\n</domain>\n"
    ctx = _ctx(xml)
    parent = ctx.doc.root.find("hyperv")
    edit = ctx.edit.insert_children(parent, [new_element("a"), new_element("b")])
    data = xml.encode()
    out = (data[: edit.start] + edit.content.encode() + data[edit.end :]).decode()
    assert out == f"<domain>\n  {expected}\n</domain>\n"


def test_merge_insertions_joins_same_offset_in_order():
    merged = Editor.merge_insertions([Edit(5, 5, "a"), Edit(1, 2, "x"), Edit(5, 5, "b")])
    assert merged == [Edit(5, 5, "ab"), Edit(1, 2, "x")]


# -- corpus ----------------------------------------------------------------------------------

#: libvirt test files that libvirt (or QEMU) refuses, and the rule that must say so.
EXPECTED_FAILURES = {
    "cpu-cache-emulate-l2.xml": "DX143",
    "cpu-cache-passthrough3.xml": "DX143",
    "cpu-cache-passthrough-l3.xml": "DX143",
    "cputune-vcpusched-overlap.xml": "DX142",
    "cputune-iothreadsched-toomuch.xml": "DX440",
    "disk-shared-qcow.xml": "DX448",
    "firmware-manual-efi-noacpi-q35.xml": "DX644",
    "intel-iommu-wrong-machine.xml": "DX640",
    "net-virtio-rxqueuesize-invalid-size.xml": "DX540",
    "non-x86_64-timer-error.xml": "DX642",
    "pseries-default-phb-numa-node.xml": "DX240",
    "usb-none-hub.xml": "DX641",
    "usb-none-other.xml": "DX641",
    "usb-none-usbtablet.xml": "DX641",
    "virtio-iommu-no-acpi.xml": "DX640",
    "virtio-iommu-wrong-machine.xml": "DX640",
}

#: Valid libvirt test files close to what the rules check: no issue-8 error may fire.
VALID_NEAR_MISSES = [
    "cpu-cache-passthrough.x86_64-latest.xml",
    "cpu-cache-emulate-l3.xml",
    "hyperv.xml",
    "hyperv-stimer-direct.xml",
    "intel-iommu-eim.xml",
    "iothreads-disk.xml",
    "iothreads-virtio-scsi-pci.xml",
    "memory-hotplug-virtio-mem.xml",
    "memory-hotplug-virtio-pmem.xml",
    "pseries-phb-numa-node.xml",
    "vhost-user-fs-hugepages.xml",
    "disk-vhostuser.xml",
    "firmware-manual-efi-secboot.xml",
    "usb-none.xml",
    "virtio-iommu-x86_64.xml",
    "net-virtio-rxtxqueuesize.xml",
]

ISSUE8_CODES = {
    "DX140", "DX141", "DX142", "DX143", "DX144", "DX240", "DX340", "DX341", "DX342", "DX440",
    "DX444", "DX445", "DX446", "DX448", "DX449", "DX451", "DX452", "DX540", "DX541", "DX542",
    "DX543", "DX640", "DX641", "DX642", "DX644", "DX650", "DX702", "DX703",
}  # fmt: skip


@pytest.mark.corpus
@pytest.mark.parametrize("name,code", sorted(EXPECTED_FAILURES.items()))
def test_libvirt_failure_tests_are_caught(corpus, name, code):
    findings = lint(corpus / "domain" / name, select=["ALL"])
    assert code in {f.code for f in findings}


@pytest.mark.corpus
def test_memory_hotplug_without_numa_is_caught_for_libvirt_before_9_6(corpus):
    """libvirt's test parses without ABI_UPDATE, as libvirt before 9.6 defined it."""
    path = corpus / "domain" / "memory-hotplug-nonuma.xml"
    assert "DX341" in {f.code for f in lint(path, select=["ALL"], libvirt_version="9.5.0")}
    assert "DX341" not in {f.code for f in lint(path, select=["ALL"])}


@pytest.mark.corpus
@pytest.mark.parametrize("name", VALID_NEAR_MISSES)
def test_valid_libvirt_tests_raise_no_issue8_error(corpus, name):
    findings = lint(corpus / "domain" / name, select=["ALL"])
    errors = [
        f"{f.code} {f.message}" for f in findings
        if f.code in ISSUE8_CODES and f.severity.value == "error"
    ]  # fmt: skip
    if name == "net-virtio-rxtxqueuesize.xml":
        # tx_queue_size 1024 on a non-vhost-user NIC: QEMU >= 8.0 refuses it at start.
        assert [e.split()[0] for e in errors] == ["DX540"]
        return
    assert not errors


@pytest.mark.corpus
def test_whole_corpus_lints_without_crash(corpus):
    linter = build_linter(select=["ALL"])
    checked = 0
    for path in sorted((corpus / "domain").glob("*.xml")):
        doc = Document.parse(path.read_bytes(), str(path))
        if doc.root.tag != "domain":
            continue
        linter.check(doc)
        checked += 1
    assert checked > 2500
    assert CORPUS.is_dir()
