"""The host-aware rules (issue 5) against real host snapshots.

- libvirt's test driver, captured live through domxml_lint.live, must judge
  every fixture exactly as the committed snapshot of it does;
- libvirt's own capabilities files (../shared/corpus/libvirt/capabilities)
  give multi-node, multi-die, resctrl and CDP hosts;
- what the rules say, and do not fix, without a host or with a host that
  cannot tell (notes instead of guesses).
"""

from __future__ import annotations

import pytest
from lxml import etree

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.findings import Severity
from domxml_lint.fixer import fix_document
from domxml_lint.host import host_from_documents, load_host
from domxml_lint.live import capture_host, open_connection
from domxml_lint.plugins import load_ruleset
from helpers import HOSTS, RULE_FIXTURES, require_libvirt
from samples import GIB_4, OS_Q35, domain

#: Every built-in rule that reads the host, from what the rules declare.
HOST_RULES = sorted(r.name for r in load_ruleset(entry_points=False) if r.needs)


def probe(body: str, *, vcpus: int = 4, memory: str = GIB_4) -> bytes:
    """A KVM q35 guest with ``body`` (cputune, numatune, cpu, devices ...) inside."""
    vcpu = f"<vcpu placement='static'>{vcpus}</vcpu>"
    return domain(f"  {body}", name="probe", memory=memory, vcpu=vcpu, os=OS_Q35).encode()


def check(data: bytes, host, *rules: str):
    """(findings, notes) of ``rules`` on ``data`` against ``host``.

    The notes include the run's: rules left out because the snapshot lacks a part they need.
    """
    linter = build_linter(select=list(rules), host=host)
    checked = linter.check(Document.parse(data, "probe"))
    skipped = [(item.rule.code, item.reason) for item in linter.skipped]
    return checked.findings, [*checked.notes, *skipped]


def codes(data: bytes, host, *rules: str) -> list[str]:
    return [f.code for f in check(data, host, *rules)[0]]


@pytest.fixture(scope="module")
def corpus_host(corpus):
    def load(name: str):
        return load_host(corpus / "capabilities" / name)

    return load


@pytest.fixture(scope="module")
def epyc():
    return load_host(HOSTS / "epyc-2node.xml")


@pytest.fixture(scope="module")
def test_default():
    return load_host(HOSTS / "test-default.xml")


#: Host rules that are opt-in on purpose: their advice is a judgement about the host's load.
OPT_IN_HOST_RULES = {"numa-balancing-with-manual-placement", "vhost-net-zero-copy-off"}


def test_every_host_rule_is_default_and_skipped_without_a_host():
    rules = {r.name: r for r in load_ruleset(entry_points=False)}
    assert len(HOST_RULES) >= 14
    for name in HOST_RULES:
        assert rules[name].default != (name in OPT_IN_HOST_RULES), name
    linter = build_linter(select=HOST_RULES)
    assert not linter.rules  # without a host none runs
    assert sorted(s.rule.name for s in linter.skipped) == HOST_RULES


# -- libvirt's test driver, live ----------------------------------------------------------


@pytest.mark.libvirt
def test_a_live_test_driver_capture_judges_the_fixtures_as_the_committed_snapshot(test_default):
    require_libvirt()
    connection = open_connection("test:///default")
    try:
        live = capture_host(connection).host()
    finally:
        connection.close()
    assert live.node_ids == test_default.node_ids and live.cpu_ids == test_default.cpu_ids
    compared = 0
    for listing in sorted(RULE_FIXTURES.glob("*/hosts.txt")):
        if listing.read_text().split() != ["test-default.xml"]:
            continue
        rule = listing.parent.name
        for path in sorted(listing.parent.glob("*.xml")):
            data = path.read_bytes()
            on_live = [(f.code, f.line, f.message) for f in check(data, live, rule)[0]]
            committed = [(f.code, f.line, f.message) for f in check(data, test_default, rule)[0]]
            assert on_live == committed, path
            assert bool(on_live) == path.name.startswith("trigger"), path
            compared += 1
    assert compared >= 8
    # the two CPU rules' claims about this host, made on the live capture itself
    over = probe("", vcpus=17)
    assert codes(over, live, "vcpu-overcommit") == ["DX109"]
    assert codes(probe("", vcpus=16), live, "vcpu-overcommit") == []
    pinned = probe("<cputune><vcpupin vcpu='0' cpuset='15'/><vcpupin vcpu='1' cpuset='16'/>"
                    "</cputune>", vcpus=2)  # fmt: skip
    assert codes(pinned, live, "pin-host-cpu-missing") == ["DX106"]


# Errors that libvirt raises only when it starts the guest on the host.
START_TIME_ERRORS = [
    "pin-host-cpu-missing",
    "cachetune-host-unsupported",
    "numatune-node-missing",
    "hugepage-size-unavailable",
]


@pytest.mark.libvirt
@pytest.mark.parametrize("rule", START_TIME_ERRORS)
def test_start_time_errors_pass_libvirts_define_and_schema(rule):
    """libvirt defines (and schema-validates) these triggers: only lint, or a failed start,
    catches them."""
    libvirt = require_libvirt()
    libvirt.registerErrorHandler(lambda *_: None, None)
    connection = libvirt.open("test:///default")
    try:
        triggers = [
            p
            for p in sorted((RULE_FIXTURES / rule).glob("trigger*.xml"))
            if not p.name.endswith(".fixed.xml")
        ]
        assert triggers
        for path in triggers:
            host = load_host(HOSTS / (RULE_FIXTURES / rule / "hosts.txt").read_text().strip())
            findings = check(path.read_bytes(), host, rule)[0]
            assert any(f.severity.value == "error" for f in findings), path.name
            domain = connection.defineXMLFlags(path.read_text(), libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
            domain.undefine()
    finally:
        connection.close()


# -- what the host can run at all ---------------------------------------------------------

QEMU_ONLY_CAPS = """<capabilities>
  <host><cpu><arch>x86_64</arch></cpu></host>
  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'>
      <wordsize>64</wordsize>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <domain type='qemu'/>
    </arch>
  </guest>
</capabilities>
"""


def test_kvm_guest_on_a_host_without_kvm(tmp_path):
    """A VM without nested virtualisation, say: its libvirt offers only emulation."""
    (tmp_path / "caps.xml").write_text(QEMU_ONLY_CAPS)
    host = load_host(tmp_path / "caps.xml")
    findings, _ = check(probe(""), host, "guest-type-unsupported-by-host")
    assert [f.code for f in findings] == ["DX645"]
    assert "offers virt type 'qemu' for 'x86_64' guests, not 'kvm' (no usable KVM here)" in (
        findings[0].message
    )
    emulated = probe("").replace(b"<domain type='kvm'>", b"<domain type='qemu'>")
    assert codes(emulated, host, "guest-type-unsupported-by-host") == []


@pytest.mark.parametrize(
    "host_arch,guest_arch,runs",
    [("x86_64", "i686", True), ("aarch64", "armv7l", True), ("ppc64le", "ppc64", True),
     ("ppc64", "ppc64le", True), ("x86_64", "armv7l", False), ("i686", "x86_64", False)],
)  # fmt: skip
def test_a_host_arch_runs_its_native_guest_arches(tmp_path, host_arch, guest_arch, runs):
    """libvirt runs i686 guests with qemu-system-x86_64 (virQEMUCapsGuestIsNative), so a
    snapshot listing only x86_64 guests still runs them; libvirt's own x86-kvm-32-on-64."""
    caps = QEMU_ONLY_CAPS.replace("x86_64", host_arch).replace("'qemu'", "'kvm'")
    (tmp_path / "caps.xml").write_text(caps)
    guest = probe("").replace(b"arch='x86_64'", f"arch='{guest_arch}'".encode())
    found = codes(guest, load_host(tmp_path / "caps.xml"), "guest-type-unsupported-by-host")
    assert found == ([] if runs else ["DX645"])


def test_guest_types_unknown_to_the_snapshot_are_a_note(tmp_path):
    (tmp_path / "caps.xml").write_text(QEMU_ONLY_CAPS.replace("<guest>", "<!--").replace(
        "</guest>", "-->"))  # fmt: skip
    findings, notes = check(probe(""), load_host(tmp_path / "caps.xml"), "DX645")
    assert findings == [] and notes == [
        ("DX645", "the host snapshot lacks QEMU guests in the capabilities (a snapshot from "
         "libvirt's QEMU driver)")
    ]  # fmt: skip


def test_machine_types_unknown_to_the_snapshot_are_a_note(tmp_path):
    (tmp_path / "caps.xml").write_text(QEMU_ONLY_CAPS)  # a guest with no <machine> listed
    emulated = probe("").replace(b"<domain type='kvm'>", b"<domain type='qemu'>")
    findings, notes = check(emulated, load_host(tmp_path / "caps.xml"), "DX646")
    assert findings == [] and any("no machine types for qemu/x86_64" in t for _, t in notes)


def test_machine_type_aliases_and_every_listed_version_pass(epyc):
    for machine in ("q35", "pc", "pc-q35-2.4", "pc-q35-4.0.1", "pc-i440fx-2.0", "microvm"):
        data = probe("").replace(b"machine='q35'", f"machine='{machine}'".encode())
        assert codes(data, epyc, "DX646") == [], machine


def test_a_host_that_is_not_a_qemu_host_says_nothing_about_qemu_guests(test_default):
    """libvirt's test driver defines any guest; only the QEMU driver's refusals are known."""
    findings, notes = check(probe(""), test_default, "DX645")
    assert findings == [] and any("from libvirt's QEMU driver" in text for _, text in notes)


# -- libvirt's capabilities files: multi-node, multi-die, resctrl --------------------------


def test_four_node_host(corpus_host):
    host = corpus_host("vircaps-x86_64-basic.xml")  # nodes 0-3, CPUs 0-3 / 4-7 / 8-11 / 12-15
    assert sorted(host.node_ids) == [0, 1, 2, 3]
    spans = probe("<cputune><vcpupin vcpu='0' cpuset='3'/><vcpupin vcpu='1' cpuset='4'/>"
                   "</cputune>", vcpus=2)  # fmt: skip
    assert codes(spans, host, "pin-spans-host-nodes") == ["DX201"]
    within = probe("<cputune><vcpupin vcpu='0' cpuset='12'/><vcpupin vcpu='1' cpuset='15'/>"
                    "</cputune><numatune><memory nodeset='3'/></numatune>", vcpus=2)  # fmt: skip
    assert codes(within, host, *HOST_RULES) == []
    beyond = probe("<numatune><memory mode='strict' nodeset='3-4'/></numatune>")
    findings, _ = check(beyond, host, "numatune-node-missing")
    assert [f.message.endswith('("NUMA node 4 is unavailable")') for f in findings] == [True]
    # each node has 1-2 GiB here: 4 GiB strictly on node 1 (2 GiB) overcommits it
    strict = probe("<numatune><memory mode='strict' nodeset='1'/></numatune>")
    assert codes(strict, host, "numatune-strict-overcommit") == ["DX204"]
    # ... and on nodes 0-3 (the guest fits their sum), nothing
    assert codes(probe("<numatune><memory nodeset='0-3'/></numatune>"), host, *HOST_RULES) == []


def test_multi_die_single_node_host(corpus_host):
    host = corpus_host("vircaps-x86_64-basic-dies.xml")  # one node, 12 CPUs over 2 sockets x 3 dies
    assert host.node_ids == frozenset({0}) and len(host.cpu_ids) == 12
    # pins on two sockets and several dies are still one NUMA node
    across_dies = probe(
        "<cputune><vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='2'/>"
        "<vcpupin vcpu='2' cpuset='6'/><vcpupin vcpu='3' cpuset='11'/></cputune>"
    )
    assert codes(across_dies, host, *HOST_RULES) == []
    # a single-node host has no better node to fit in: only the overcommit is worth saying
    wide = probe("", vcpus=16, memory="<memory unit='GiB'>64</memory>")
    assert codes(wide, host, *HOST_RULES) == ["DX109"]


def test_node_without_cpus_exists(corpus_host):
    host = corpus_host("vircaps-x86_64-hmat.xml")  # node 1: memory only
    assert host.cell(1) is not None and not host.cell(1).cpus
    bound = probe("<numatune><memory mode='preferred' nodeset='1'/></numatune>")
    assert codes(bound, host, "numatune-node-missing") == []


def hostdev(bus: int) -> str:
    return (
        "<devices><hostdev mode='subsystem' type='pci' managed='yes'><source>"
        f"<address domain='0x0000' bus='{bus:#04x}' slot='0x00' function='0x0'/>"
        "</source></hostdev></devices>"
    )


def test_pci_locality_with_libvirts_node_device_files(corpus):
    nodedev = corpus / "nodedev"
    host = load_host(
        corpus / "capabilities" / "vircaps-x86_64-basic.xml",
        nodedev / "nodedevschemadata__pci_1002_71c4.xml",  # 0000:01:00.0 on node 1
        nodedev / "nodedevschemadata__pci_0000_42_00_0_vpd.xml",  # 0000:42:00.0 on node 0
    )
    on_node_0 = "<cputune><vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='1'/></cputune>"
    remote = probe(on_node_0 + hostdev(0x01), vcpus=2)
    (finding,) = check(remote, host, *HOST_RULES)[0]
    assert finding.code == "DX211" and "is on host node 1" in finding.message
    assert check(probe(on_node_0 + hostdev(0x42), vcpus=2), host, *HOST_RULES)[0] == []
    # node devices alone, no capabilities: a numatune nodeset still binds the guest
    devices_only = load_host(nodedev / "nodedevschemadata__pci_1002_71c4.xml")
    bound = probe("<numatune><memory mode='strict' nodeset='0'/></numatune>" + hostdev(0x01))
    assert codes(bound, devices_only, "pci-device-numa-remote") == ["DX211"]


CACHETUNE = "<cputune><cachetune vcpus='0-1'>{}</cachetune></cputune>"


@pytest.mark.parametrize(
    "capabilities,caches,expected",
    [
        # CDP on: code and data, not both
        ("vircaps-x86_64-resctrl-cdp.xml",
         "<cache id='0' level='3' type='code' size='3' unit='MiB'/>"
         "<cache id='0' level='3' type='data' size='3' unit='MiB'/>", []),
        ("vircaps-x86_64-resctrl-cdp.xml",
         "<cache id='1' level='3' type='both' size='3' unit='MiB'/>", ["scope type 'both'"]),
        # 768 KiB granularity: 1 MiB does not divide
        ("vircaps-x86_64-resctrl-cdp.xml",
         "<cache id='1' level='3' type='code' size='1' unit='MiB'/>",
         ["not divisible by granularity 786432"]),
        # min 1536 KiB: one granule is too small
        ("vircaps-x86_64-resctrl.xml",
         "<cache id='0' level='3' type='both' size='768' unit='KiB'/>",
         ["smaller than the minimum allowed allocation 1572864"]),
        ("vircaps-x86_64-resctrl.xml",
         "<cache id='1' level='3' type='both' size='1536' unit='KiB'/>", []),
        # the whole 15 MiB bank
        ("vircaps-x86_64-resctrl.xml",
         "<cache id='0' level='3' type='both' size='15' unit='MiB'/>",
         ["whole cache is not possible"]),
        ("vircaps-x86_64-resctrl.xml",
         "<cache id='2' level='3' type='both' size='3' unit='MiB'/>",
         ["Cache with id 2 does not exists for level 3"]),
        # Skylake-SP: 3 MiB granularity on a 33 MiB bank
        ("vircaps-x86_64-resctrl-skx.xml",
         "<cache id='0' level='3' type='both' size='6' unit='MiB'/>", []),
        # monitoring only, and no resctrl at all: banks without controls
        ("vircaps-x86_64-resctrl-cmt.xml",
         "<cache id='0' level='3' type='both' size='3' unit='MiB'/>",
         ["Cache level 3 does not support tuning"]),
        ("caps-qemu-kvm.xml",
         "<cache id='0' level='3' type='both' size='2' unit='MiB'/>",
         ["Cache level 3 does not support tuning"]),
    ],
)  # fmt: skip
def test_cachetune_on_resctrl_hosts(corpus_host, capabilities, caches, expected):
    findings, _ = check(probe(CACHETUNE.format(caches)), corpus_host(capabilities), "DX114")
    assert len(findings) == len(expected), [f.message for f in findings]
    for finding, quoted in zip(findings, expected, strict=True):
        assert quoted in finding.message


def test_what_a_snapshot_does_not_know_is_a_note_not_a_finding(corpus_host, epyc):
    bare = corpus_host("caps.x86_64.xml")  # no NUMA topology, no cache banks, no page sizes
    assert not bare.has_numa and not bare.has_cache_banks and bare.page_sizes_kib is None
    everything = probe(
        "<memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages></memoryBacking>"
        "<cputune><vcpupin vcpu='0' cpuset='99'/><vcpupin vcpu='1' cpuset='0'/>"
        "<cachetune vcpus='0'><cache id='9' level='3' type='both' size='1' unit='KiB'/>"
        "</cachetune></cputune><numatune><memory mode='strict' nodeset='7'/></numatune>"
        "<devices><hostdev mode='subsystem' type='pci'><source>"
        "<address domain='0' bus='0xc1' slot='0' function='0'/></source></hostdev></devices>",
        vcpus=64,
    )
    findings, notes = check(everything, bare, *HOST_RULES)
    assert findings == []
    noted = {code for code, _ in notes}
    assert {"DX106", "DX109", "DX114", "DX201", "DX203", "DX211", "DX320", "DX321"} <= noted
    # epyc-2node knows all of it
    assert {f.code for f in check(everything, epyc, *HOST_RULES)[0]} >= {
        "DX106", "DX109", "DX114", "DX203", "DX211",
    }  # fmt: skip


def test_hugepages_without_a_size_on_a_host_without_huge_pages(corpus):
    # caps-test2.xml with its huge page sizes removed: the host offers only 4 KiB pages
    root = etree.fromstring((corpus / "capabilities" / "caps-test2.xml").read_bytes())
    for pages in root.iterfind("host/cpu/pages"):
        if pages.get("size") != "4":
            pages.getparent().remove(pages)
    host = host_from_documents(("caps-test2 without huge pages", etree.tostring(root).decode()))
    assert host.page_sizes_kib == (4,) and host.default_hugepage_kib is None
    default = probe("<memoryBacking><hugepages/></memoryBacking>")
    findings, _ = check(default, host, "hugepage-size-unavailable")
    assert [f.code for f in findings] == ["DX320"]
    assert "mounted or disabled by administrator config" in findings[0].message


# -- fixes that need a host, and the same rules without one -------------------------------


PINNED_NODE_0 = probe(
    "<cputune>" + "".join(f"<vcpupin vcpu='{v}' cpuset='{v}'/>" for v in range(8)) + "</cputune>",
    vcpus=8,
)


def test_host_fixes_are_offered_only_with_a_host_that_can_tell(epyc, test_default):
    rules = ("emulatorpin-missing", "pinning-without-numatune")
    without = check(PINNED_NODE_0, None, *rules)[0]
    assert [f.code for f in without] == ["DX107", "DX108"]
    assert all(f.fix is None for f in without)
    # test:///default: node 0 is CPUs 0-7, all taken by vCPUs; no CPU left for the emulator
    on_test = {f.code: f.fix for f in check(PINNED_NODE_0, test_default, *rules)[0]}
    assert on_test["DX107"] is None
    assert "nodeset='0'" in on_test["DX108"].edits[0].content
    # epyc-2node: node 0's SMT siblings 16-23 are free, though no whole core is
    on_epyc = {f.code: f.fix for f in check(PINNED_NODE_0, epyc, *rules)[0]}
    assert "cpuset='16-23'" in on_epyc["DX107"].edits[0].content


def test_emulator_fix_prefers_whole_free_cores(test_default, epyc):
    guest = probe("<cputune><vcpupin vcpu='0' cpuset='9'/><vcpupin vcpu='1' cpuset='10'/>"
                   "</cputune><numatune><memory mode='preferred' nodeset='1'/></numatune>",
                   vcpus=2)  # fmt: skip
    result = fix_document(
        Document.parse(guest, "probe"),
        build_linter(select=["emulatorpin-missing"], host=epyc),
        unsafe=True,
    )
    # node 1 is 8-15 + 24-31; 9, 10 and their siblings 25, 26 are the vCPUs' cores
    assert b"<emulatorpin cpuset='8,11-15,24,27-31'/>" in result.data
    on_test = fix_document(
        Document.parse(guest, "probe"),
        build_linter(select=["emulatorpin-missing"], host=test_default),
        unsafe=True,
    )
    assert b"<emulatorpin cpuset='8,11-15'/>" in on_test.data


def test_strict_overcommit_on_several_nodes_has_no_fix(epyc):
    guest = probe(
        "<numatune><memory mode='strict' nodeset='0-1'/></numatune>",
        memory="<memory unit='GiB'>160</memory>",
    )
    (finding,) = check(guest, epyc, "numatune-strict-overcommit")[0]
    assert finding.fix is None and "host nodes 0-1" in finding.message


def test_default_hugepage_size_comes_from_the_host(epyc):
    guest = probe(
        "<memoryBacking><hugepages/></memoryBacking>", memory="<memory unit='MiB'>3001</memory>"
    )
    findings, notes = check(guest, None, "memory-not-hugepage-aligned")
    assert findings == [] and notes and "without a host" in notes[0][1]
    (finding,) = check(guest, epyc, "memory-not-hugepage-aligned")[0]
    assert "2 MiB huge page size" in finding.message
    aligned = guest.replace(b"3001", b"3000")
    assert check(aligned, epyc, "memory-not-hugepage-aligned")[0] == []


@pytest.mark.slow
def test_fixes_converge_over_the_corpus_with_a_multi_node_host(corpus, epyc):
    linter = build_linter(select=["ALL"], host=epyc)
    fixed = 0
    for path in sorted((corpus / "domain").glob("*.xml")):
        doc = Document.parse(path.read_bytes(), str(path))
        before = linter.check(doc).findings
        if not any(f.fix for f in before):
            continue
        result = fix_document(doc, linter, unsafe=True)
        assert result.converged, path.name
        assert not [f for f in result.remaining if f.fix], path.name
        # A fix may let advice apply (raising <iothreads> lets iothread-unpinned
        # speak); it must never add an error.
        known = {(f.code, f.message) for f in before}
        new = [
            f.code
            for f in result.remaining
            if (f.code, f.message) not in known and f.severity is Severity.ERROR
        ]
        assert not new, (path.name, new)
        fixed += 1
    assert fixed > 100


ONE_NODE_HOST = (
    """<capabilities><host>
  <cpu><arch>x86_64</arch></cpu>
  <topology><cells num='1'><cell id='0'>
    <memory unit='KiB'>33554432</memory>
    <cpus num='8'>"""
    + "".join(
        f"<cpu id='{c}' socket_id='0' die_id='0' core_id='{c % 4}' siblings='{c % 4},{c % 4 + 4}'/>"
        for c in range(8)
    )
    + """</cpus>
  </cell></cells></topology>
</host></capabilities>"""
)


def test_pinning_without_numatune_depends_on_the_hosts_nodes(epyc):
    # A homelab desktop pins vCPUs without numatune: on one NUMA node nothing is remote.
    guest = probe("<cputune>" + "".join(
        f"<vcpupin vcpu='{v}' cpuset='{v}'/>" for v in range(4)) + "</cputune>")  # fmt: skip
    one_node = host_from_documents(ONE_NODE_HOST)
    assert check(guest, one_node, "pinning-without-numatune")[0] == []
    (on_epyc,) = check(guest, epyc, "pinning-without-numatune")[0]
    assert on_epyc.severity is Severity.WARNING
    assert "another of the host's 2 NUMA nodes" in on_epyc.message
    (unknown,) = check(guest, None, "pinning-without-numatune")[0]
    assert unknown.severity is Severity.INFO
    assert "on a host with more than one NUMA node" in unknown.message


def _ksm_host(run: int, ksmtuned: str) -> str:
    return (
        "<domxml-lint-host-snapshot version='2' generator='test'>"
        f"<system><ksm run='{run}'/><services systemd='yes'>{ksmtuned}</services></system>"
        "</domxml-lint-host-snapshot>"
    )


KSMTUNED_OFF = "<service name='ksmtuned' enabled='disabled' active='inactive' installed='yes'/>"
KSMTUNED_ON = "<service name='ksmtuned' enabled='enabled' active='active' installed='yes'/>"


@pytest.mark.parametrize(
    ("snapshot", "expected"),
    [
        (None, "where KSM runs, it scans and merges"),
        (_ksm_host(1, KSMTUNED_ON), "KSM, which runs on this host, scans and merges"),
        (_ksm_host(0, KSMTUNED_ON), "where KSM runs, it scans"),  # ksmtuned may start it
        (_ksm_host(0, ""), "where KSM runs, it scans"),  # ksmtuned's state unknown
        (_ksm_host(0, KSMTUNED_OFF), None),  # KSM off and nothing starts it: nothing to say
    ],
)
def test_nosharepages_missing_follows_the_hosts_ksm(snapshot, expected):
    guest = probe("<cputune><vcpupin vcpu='0' cpuset='2'/></cputune>", vcpus=1)
    host = host_from_documents(snapshot) if snapshot else None
    found = check(guest, host, "nosharepages-missing")[0]
    if expected is None:
        assert found == []
    else:
        (finding,) = found
        assert expected in finding.message
