"""System facts in host snapshots: the model, the <system> section, and loading it.

Reading a real machine is tested in test_host_collect.py; here the facts come
from fixture bundles (every fact, some, none) and from XML written in the tests.
"""

from __future__ import annotations

import datetime

import attrs
import pytest

from domxml_lint.document import Document
from domxml_lint.errors import InputError
from domxml_lint.host import build_bundle, host_from_documents, load_host
from domxml_lint.host.collect import collect_system
from domxml_lint.host.model import LibvirtInfo, parse_version
from domxml_lint.host.system import (
    Choice,
    HostSystem,
    HugePagePool,
    HugePages,
    KernelModule,
)
from domxml_lint.host.system_xml import parse_system, system_xml
from helpers import FIXTURES, HOSTS, REPO

FULL = HOSTS / "epyc-2node-system.xml"
PARTIAL = HOSTS / "partial-system.xml"
V1 = HOSTS / "epyc-2node.xml"
TREE = FIXTURES.parent / "host-trees" / "epyc-2node"


def _system_of(xml: str, source: str = "s.xml") -> HostSystem:
    return parse_system(Document.parse(xml.encode(), source).root, source)


# -- the model ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,selected,options",
    [
        ("always [madvise] never", "madvise", ("always", "madvise", "never")),
        ("[always] madvise never\n", "always", ("always", "madvise", "never")),
        (
            "always defer defer+madvise [madvise] never",
            "madvise",
            ("always", "defer", "defer+madvise", "madvise", "never"),
        ),
        ("noop [deadline] cfq", "deadline", ("noop", "deadline", "cfq")),
        ("none", "none", ("none",)),  # a device with one scheduler shows no brackets
        ("mq-deadline kyber", None, ("mq-deadline", "kyber")),
        ("", None, ()),
    ],
)
def test_a_choice_is_the_bracketed_option(text, selected, options):
    choice = Choice.parse(text)
    assert (choice.selected, choice.options) == (selected, options)
    assert Choice.parse(str(choice)) == choice


def test_kernel_parameters_follow_the_kernels_rules():
    system = HostSystem(
        cmdline="BOOT_IMAGE=/vmlinuz quiet hugepagesz=1G hugepages=4 hugepagesz=2M "
        'hugepages=512 dyndbg="file x.c +p" -- single init=/bin/sh'
    )
    assert system.cmdline_parameters == (
        ("BOOT_IMAGE", "/vmlinuz"),
        ("quiet", None),
        ("hugepagesz", "1G"),
        ("hugepages", "4"),
        ("hugepagesz", "2M"),
        ("hugepages", "512"),
        ("dyndbg", "file x.c +p"),
    )
    assert system.kernel_parameter("hugepagesz") == "2M"  # the last one wins
    assert system.kernel_parameter("quiet") == ""
    assert system.kernel_parameter("init") is None  # after "--": init's, not the kernel's
    assert HostSystem().cmdline_parameters is None and HostSystem().kernel_parameter("x") is None
    assert HostSystem(cmdline='a="b').kernel_parameter("a") == '"b'  # unbalanced quote


def test_arp_filter_is_all_or_the_interfaces_own():
    system = HostSystem(arp_filter={"all": 0, "default": 0, "eth0": 1, "eth1": 0})
    assert system.arp_filter_on("eth0") is True
    assert system.arp_filter_on("eth1") is False
    assert system.arp_filter_on("eth9") is None  # not listed: unknown
    assert HostSystem(arp_filter={"all": 1}).arp_filter_on("eth9") is True
    assert HostSystem().arp_filter_on("eth0") is None


def test_module_flags_and_integers():
    module = KernelModule("kvm_intel", True, {"nested": "Y", "ept": "N", "avic": "1", "x": "?"})
    assert module.flag("nested") is True and module.flag("ept") is False
    assert module.flag("avic") is True and module.flag("x") is None and module.flag("no") is None
    assert module.integer("avic") == 1 and module.integer("nested") is None


def test_huge_page_sums_are_unknown_when_a_pool_is():
    pages = HugePages(
        2048,
        [
            HugePagePool(0, 2048, 10, 4),
            HugePagePool(1, 2048, 6, 6),
            HugePagePool(0, 1048576, 2, None),
        ],
    )
    assert pages.sizes_kib == (2048, 1048576)
    assert pages.total_pages(2048) == 16 and pages.free_pages(2048) == 10
    assert pages.total_pages(1048576) == 2 and pages.free_pages(1048576) is None
    assert pages.total_pages(64) is None
    assert pages.pool(1, 2048) == HugePagePool(1, 2048, 6, 6) and pages.pool(2, 2048) is None


def test_versions():
    assert parse_version("9.0.0") == (9, 0, 0) and parse_version("10.7") == (10, 7)
    assert parse_version("8.2.0-rc1") is None and parse_version(None) is None
    info = LibvirtInfo(version="9.0.0", hypervisor="QEMU", hypervisor_version="7.2.0")
    assert info.qemu_version == "7.2.0"
    assert LibvirtInfo(hypervisor="TEST", hypervisor_version="0.0.2").qemu_version is None
    assert info.merged(LibvirtInfo(uri="qemu:///system")) == attrs.evolve(
        info, uri="qemu:///system"
    )
    assert info.merged(LibvirtInfo(version="9.1.0")) is None


# -- loading: every fact, some, none ---------------------------------------------------------


def test_a_snapshot_with_every_fact():
    host = load_host(FULL)
    system = host.system
    assert system is not None
    assert (system.hostname, system.kernel_release, system.collected) == (
        "kvm-epyc-01.example.com",
        "5.14.0-362.8.1.el9_3.x86_64",
        "2024-03-01T09:00:00Z",
    )
    assert system.kernel_parameter("transparent_hugepage") == "never"
    assert system.memory.total_kib == 131923548
    assert system.memory.available_kib == 90218836
    assert system.memory.swap_total_kib == 16777212
    assert system.numa_nodes == {0, 1} and system.numa_balancing == 0
    assert system.transparent_hugepages.mode == "never"
    assert system.transparent_hugepages.defrag == Choice(
        "madvise", ("always", "defer", "defer+madvise", "madvise", "never")
    )
    ksm = system.ksm
    assert (ksm.run, ksm.merge_across_nodes, ksm.pages_to_scan, ksm.sleep_millisecs) == (
        1,
        0,
        100,
        20,
    )
    assert (ksm.pages_shared, ksm.pages_sharing, ksm.running) == (1200, 5400, True)
    pages = system.hugepages
    assert pages.default_size_kib == 2048
    assert pages.pool(1, 2048) == HugePagePool(1, 2048, 4096, 4000, 0)
    assert pages.total_pages(1048576) == 16 and pages.free_pages(1048576) == 14
    assert [(m.path, m.page_size_kib, m.explicit) for m in system.hugetlbfs_mounts] == [
        ("/dev/hugepages", 2048, True),
        ("/dev/hugepages1G", 1048576, True),
    ]
    assert (system.tuned.profile, system.tuned.mode) == ("virtual-host", "manual")
    assert system.systemd is True
    assert system.service("numad").installed is True and system.service("numad").running is False
    assert system.service("ksm").installed is None and system.service("ksm").running is True
    assert system.service("tuned").enabled == "enabled"
    assert system.kvm_vendor_module.name == "kvm_amd"
    assert system.kvm_vendor_module.flag("nested") is True
    assert system.module("kvm_intel").loaded is False
    assert system.module("vhost_net").integer("experimental_zcopytx") == 1
    assert system.module("nbd") is None  # not checked at all
    kvm = system.device("/dev/kvm")
    assert (kvm.exists, kvm.char_device, kvm.mode, kvm.owner, kvm.group, kvm.accessible) == (
        True,
        True,
        0o666,
        "root",
        "kvm",
        True,
    )
    assert {name: b.scheduler.selected for name, b in system.block_devices.items()} == {
        "dm-0": "none",
        "nvme0n1": "none",
        "sda": "mq-deadline",
    }
    assert system.arp_filter_on("eno1") is True  # all=1
    # The libvirt connection's versions, and the rest of the snapshot as in version 1.
    assert host.libvirt == LibvirtInfo(
        uri="qemu:///system",
        hostname="kvm-epyc-01.example.com",
        version="10.0.0",
        hypervisor="QEMU",
        hypervisor_version="8.2.0",
    )
    assert host.qemu_version == "8.2.0" and host.libvirt_version == "10.0.0"
    old = load_host(V1)
    assert host.capabilities == old.capabilities
    assert host.domain_capabilities == old.domain_capabilities
    assert host.node_devices == old.node_devices


def test_a_snapshot_with_some_facts():
    system = load_host(PARTIAL).system
    assert system.hostname == "ci-runner-7" and system.collected is None
    assert system.memory.total_kib == 16369884 and system.memory.available_kib is None
    assert system.transparent_hugepages.mode == "madvise"
    assert system.transparent_hugepages.defrag is None
    assert system.ksm.run == 0 and system.ksm.running is False and system.ksm.pages_to_scan is None
    assert system.hugepages.default_size_kib == 2048 and system.hugepages.pools == ()
    assert system.hugetlbfs_mounts == ()  # read, and none mounted
    assert system.systemd is False
    assert system.service("numad").installed is False
    assert system.service("numad").enabled is None and system.service("numad").running is None
    assert system.service("tuned") is None  # not recorded
    for unknown in (
        system.cmdline,
        system.numa_nodes,
        system.numa_balancing,
        system.tuned,
        system.modules,
        system.devices,
        system.block_devices,
        system.arp_filter,
        system.kvm_vendor_module,
        system.device("/dev/kvm"),
    ):
        assert unknown is None
    assert load_host(PARTIAL).libvirt is None  # no connection behind it


def test_a_snapshot_with_no_facts():
    assert load_host(V1).system is None  # version 1: none were recorded
    empty = host_from_documents(
        "<domxml-lint-host-snapshot version='2'><system/></domxml-lint-host-snapshot>"
    )
    assert empty.system == HostSystem()
    facts = [f for f in attrs.fields(HostSystem) if f.name != "source"]  # where, not a fact
    assert all(getattr(empty.system, f.name) is None for f in facts)
    assert empty.system.describe() == "system facts of an unnamed machine"


def test_the_system_section_round_trips(tmp_path):
    full = load_host(FULL).system
    assert _system_of(system_xml(full)) == full
    partial = load_host(PARTIAL).system
    assert _system_of(system_xml(partial)) == partial
    odd = HostSystem(
        hostname="h'o\"s<t>&",
        cmdline="a=\"b c\" d='e' \x01\x7f tab\there <&>",
        hugetlbfs_mounts=[],
        arp_filter={"eth0": 1},
        modules={"kvm": KernelModule("kvm", True, {"p": " spaced & <odd> "})},
    )
    back = _system_of(system_xml(odd))
    assert back.hostname == odd.hostname and back.arp_filter == odd.arp_filter
    assert back.modules == odd.modules and back.hugetlbfs_mounts == ()
    # A control character XML cannot hold is written as an escape, not dropped silently.
    assert back.cmdline == "a=\"b c\" d='e' \\x01\x7f tab\there <&>"


def test_unknown_elements_and_attributes_are_ignored():
    system = _system_of(
        "<system hostname='h' future='1'><memory total-kib='5' unit='MiB'/>"
        "<thermal zone='x'/><ksm run='1' advisor='scan-time'/></system>"
    )
    assert system == HostSystem(hostname="h", memory=system.memory, ksm=system.ksm)
    assert system.memory.total_kib == 5 and system.ksm.run == 1


@pytest.mark.parametrize(
    "body,message",
    [
        ("<memory total-kib='lots'/>", "<memory total-kib='lots'> is not a non-negative integer"),
        ("<ksm run='-1'/>", "<ksm run='-1'> is not a non-negative integer"),
        ("<numa nodes='0-x'/>", "<numa nodes='0-x'> cannot parse"),
        ("<hugepages><pool node='0'/></hugepages>", "<pool> has no 'size-kib' attribute"),
        ("<services systemd='maybe'/>", "<services systemd='maybe'> is neither yes nor no"),
        ("<modules><module name='kvm'/></modules>", "<module> has no 'loaded' attribute"),
        ("<device-nodes><node path='/dev/kvm' mode='rw'/></device-nodes>", "is not an octal mode"),
        ("<block-devices><device name='sda'/></block-devices>", "has no 'scheduler' attribute"),
        ("<arp-filter><conf name='all'/></arp-filter>", "<conf> has no 'value' attribute"),
    ],
)
def test_malformed_values_name_the_file_and_line(tmp_path, body, message):
    path = tmp_path / "bad.xml"
    path.write_text(
        f"<domxml-lint-host-snapshot version='2'>\n<system>\n  {body}\n</system>\n"
        "</domxml-lint-host-snapshot>\n"
    )
    with pytest.raises(InputError) as caught:
        load_host(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:3: ") and message in text, text
    assert "take the facts again with `domxml-lint host facts`" in text


# -- merging ------------------------------------------------------------------------------------


def _facts_bundle(system: HostSystem) -> bytes:
    return build_bundle([system_xml(system)], created="2024-03-01T09:00:00Z")


def test_facts_merge_with_a_snapshot_that_lacks_them(tmp_path):
    facts = tmp_path / "facts.xml"
    facts.write_bytes(_facts_bundle(load_host(FULL).system))
    host = load_host(V1, facts)
    assert host.system == load_host(FULL).system
    assert host.capabilities == load_host(V1).capabilities
    assert host.libvirt_version == "10.0.0"  # from the version-1 bundle's root
    assert load_host(FULL, facts).system == host.system  # the same facts twice merge


def test_two_different_system_sections_are_refused(tmp_path):
    first, second = tmp_path / "a.xml", tmp_path / "b.xml"
    system = load_host(FULL).system
    first.write_bytes(_facts_bundle(system))
    second.write_bytes(_facts_bundle(attrs.evolve(system, numa_balancing=1)))
    with pytest.raises(InputError) as caught:
        load_host(first, second)
    assert str(caught.value).startswith(
        f"{second}:3: system facts differs from the one in {first}:3"
    )


def test_two_different_libvirt_versions_are_refused(tmp_path):
    newer = tmp_path / "newer.xml"
    newer.write_bytes(
        V1.read_bytes().replace(b"libvirt-version='10.0.0'", b"libvirt-version='10.1.0'")
    )
    with pytest.raises(InputError, match=r"the libvirt connection \(libvirt 10.1.0\) differs"):
        load_host(V1, newer)


# -- the fixture tree ---------------------------------------------------------------------------


def test_the_fixture_tree_gives_the_fixture_snapshots_facts():
    """fixtures/xml/hosts/epyc-2node-system.xml's facts are what its tree gives, apart from what
    a git tree cannot hold: service states (systemctl) and device nodes."""
    collected = collect_system(
        str(TREE), now=lambda: datetime.datetime(2024, 3, 1, 9, tzinfo=datetime.UTC)
    )
    expected = load_host(FULL).system
    tree = collected.system
    assert attrs.evolve(tree, services=expected.services, devices=expected.devices) == expected
    assert all(s.enabled is None and s.active is None for s in tree.services.values())
    assert {name: s.installed for name, s in tree.services.items()} == {
        name: s.installed for name, s in expected.services.items()
    }
    assert set(tree.devices) == {"/dev/kvm", "/dev/vhost-net"}
    assert all(node.exists and node.char_device is False for node in tree.devices.values())
    assert collected.notes == ("commands not run: service states unknown",)


def test_the_readme_documents_every_element_and_attribute():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Snapshot format") : readme.index("### Live libvirt")]
    doc = Document.parse(FULL.read_bytes(), str(FULL))
    for attribute in doc.root.attrib:
        assert f"`{attribute}`" in section, attribute
    system = doc.root.find("system")
    for element in system.iter():
        assert f"<{element.tag}" in section, element.tag
        for attribute in element.attrib:
            assert f"{attribute}=" in section, (element.tag, attribute)
