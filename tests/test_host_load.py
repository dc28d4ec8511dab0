"""Loading host files: kinds from the root element, the bundle format, merging and errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from domxml_lint.document import Document
from domxml_lint.errors import HostileInputError, InputError
from domxml_lint.host import (
    build_bundle,
    host_from_documents,
    inner_documents,
    load_host,
)
from domxml_lint.linter import Linter
from domxml_lint.rule import rule
from domxml_lint.ruleset import RuleSet
from helpers import HOSTS, REPO, RULE_FIXTURES, run_cli

EPYC = HOSTS / "epyc-2node.xml"
CLEAN_DOMAIN = RULE_FIXTURES / "disk-cache-unsafe" / "clean.xml"

SMALL_CAPS = """<capabilities>
  <host>
    <cpu>
      <arch>x86_64</arch>
      <pages unit='KiB' size='4'/>
      <pages unit='KiB' size='2048'/>
    </cpu>
    <topology>
      <cells num='1'>
        <cell id='0'>
          <memory unit='GiB'>4</memory>
          <pages unit='KiB' size='4'>1048576</pages>
          <pages unit='MiB' size='2'>0</pages>
          <cpus num='2'>
            <cpu id='0' socket_id='0' core_id='0' siblings='0-1'/>
            <cpu id='1' socket_id='0' core_id='0' siblings='0-1'/>
          </cpus>
        </cell>
      </cells>
    </topology>
  </host>
</capabilities>
"""

NIC = """<device>
  <name>pci_0000_3b_00_0</name>
  <capability type='pci'>
    <class>0x020000</class>
    <domain>0</domain>
    <bus>59</bus>
    <slot>0</slot>
    <function>0</function>
    <product id='0x1572'>Ethernet Controller X710 for 10GbE SFP+</product>
    <vendor id='0x8086'>Intel Corporation</vendor>
    <iommuGroup number='33'>
      <address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/>
    </iommuGroup>
    <numa node='0'/>
  </capability>
</device>
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# -- kinds ------------------------------------------------------------------------------------


def test_each_kind_is_read_from_its_root_element(tmp_path, corpus):
    caps = load_host(_write(tmp_path, "caps.xml", SMALL_CAPS))
    assert caps.has_numa and caps.cell(0).memory_kib == 4 * 1024 * 1024
    assert dict(caps.cell(0).pages) == {4: 1048576, 2048: 0}  # unit='MiB' size='2' is 2048 KiB
    assert caps.capabilities.cpu(1).siblings == frozenset({0, 1})
    nic = load_host(_write(tmp_path, "nic.xml", NIC))
    assert [str(a) for a in nic.node_devices] == ["0000:3b:00.0"]
    domcaps = load_host(corpus / "domaincaps" / "qemu_8.2.0-q35.x86_64.xml")
    assert domcaps.domain_capabilities[0].machine == "pc-q35-8.2"
    merged = load_host(
        tmp_path / "caps.xml",
        tmp_path / "nic.xml",
        corpus / "domaincaps" / "qemu_8.2.0-q35.x86_64.xml",
    )
    assert merged.has_numa and merged.has_node_devices and merged.has_domain_capabilities
    assert merged.sources == (
        str(tmp_path / "caps.xml"),
        str(tmp_path / "nic.xml"),
        str(corpus / "domaincaps" / "qemu_8.2.0-q35.x86_64.xml"),
    )


def test_another_kind_is_an_error_naming_the_accepted_kinds(tmp_path):
    with pytest.raises(InputError) as caught:
        load_host(CLEAN_DOMAIN)
    message = str(caught.value)
    assert message.startswith(f"{CLEAN_DOMAIN}:1: root element is <domain>, which is not a host")
    for kind in (
        "<capabilities>",
        "<domainCapabilities>",
        "<device>",
        "<domxml-lint-host-snapshot>",
    ):
        assert kind in message


def test_host_files_are_parsed_as_hardened_as_domains(tmp_path):
    hostile = _write(
        tmp_path,
        "evil.xml",
        '<?xml version="1.0"?>\n<!DOCTYPE capabilities [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        "<capabilities><host><cpu><arch>&x;</arch></cpu></host></capabilities>\n",
    )
    with pytest.raises(
        HostileInputError, match=r"evil.xml:2:1: DOCTYPE declarations are not allowed"
    ):
        load_host(hostile)
    broken = _write(tmp_path, "broken.xml", "<capabilities>\n  <host>\n</capabilities>\n")
    with pytest.raises(InputError, match=r"broken.xml:3:\d+: not well-formed XML"):
        load_host(broken)
    with pytest.raises(InputError, match="no such file"):
        load_host(tmp_path / "missing.xml")


@pytest.mark.parametrize(
    "old,new,expected",
    [
        (
            "<cell id='0'>",
            "<cell id='zero'>",
            r"caps.xml:10: <cell id='zero'> is not a non-negative integer",
        ),
        (
            "siblings='0-1'/>\n            <cpu id='1'",
            "siblings='1-0'/>\n            <cpu id='1'",
            r"caps.xml:15: <cpu siblings='1-0'> range 1-0 ends before it starts",
        ),
        (
            "<memory unit='GiB'>4",
            "<memory unit='parsecs'>4",
            r"caps.xml:11: cell memory '4' with unit 'parsecs'",
        ),
        ("<cpu id='1' ", "<cpu ", r"caps.xml:16: <cpu> has no 'id' attribute"),
    ],
)
def test_values_libvirt_never_writes_name_file_and_line(tmp_path, old, new, expected):
    assert old in SMALL_CAPS
    path = _write(tmp_path, "caps.xml", SMALL_CAPS.replace(old, new, 1))
    with pytest.raises(InputError, match=expected) as caught:
        load_host(path)
    assert "domxml-lint host snapshot" in str(caught.value)


# -- bundles ------------------------------------------------------------------------------------


def test_bundle_keeps_inner_documents_byte_for_byte(tmp_path, corpus):
    documents = [
        (corpus / "capabilities" / "vircaps-x86_64-resctrl.xml").read_text(),
        (corpus / "domaincaps" / "qemu_8.2.0-q35.x86_64.xml").read_text(),
        (corpus / "nodedev" / "nodedevschemadata__pci_0000_42_00_0_vpd.xml").read_text(),
    ]
    data = build_bundle(
        documents, uri="qemu:///system", libvirt_version="9.0.0", created="2024-01-01T00:00:00Z"
    )
    assert data.startswith(
        b"<?xml version='1.0' encoding='UTF-8'?>\n<domxml-lint-host-snapshot version='2' "
        b"uri='qemu:///system' libvirt-version='9.0.0' created='2024-01-01T00:00:00Z'>\n"
        b"<capabilities>"
    )
    doc = Document.parse(data, "bundle.xml")
    assert inner_documents(doc) == [d.strip().encode() for d in documents]
    path = tmp_path / "bundle.xml"
    path.write_bytes(data)
    from_bundle = load_host(path)
    from_files = load_host(
        corpus / "capabilities" / "vircaps-x86_64-resctrl.xml",
        corpus / "domaincaps" / "qemu_8.2.0-q35.x86_64.xml",
        corpus / "nodedev" / "nodedevschemadata__pci_0000_42_00_0_vpd.xml",
    )
    assert from_bundle.capabilities == from_files.capabilities
    assert from_bundle.domain_capabilities == from_files.domain_capabilities
    assert from_bundle.node_devices == from_files.node_devices
    # The same parts given twice (a bundle and a file it holds) merge.
    again = load_host(path, corpus / "capabilities" / "vircaps-x86_64-resctrl.xml")
    assert again.capabilities == from_bundle.capabilities


def test_bundle_metadata_is_escaped_and_declarations_dropped():
    data = build_bundle(["<?xml version='1.0'?>\n" + NIC], uri="qemu+ssh://a/system?x=1&y='2'")
    doc = Document.parse(data, "b.xml")
    assert doc.root.get("uri") == "qemu+ssh://a/system?x=1&y='2'"
    assert inner_documents(doc) == [NIC.strip().encode()]


@pytest.mark.parametrize(
    "root,child,expected",
    [
        ("<domxml-lint-host-snapshot>", "", r"b.xml:1: <domxml-lint-host-snapshot> has no version"),
        (
            "<domxml-lint-host-snapshot version='4'>",
            "",
            r"b.xml:1: snapshot version 4 is newer than this domxml-lint reads \(versions 1, 2 "
            r"and 3\) \(upgrade domxml-lint \(`pip install -U domxml-lint`\), or take the snapshot "
            r"again with this one\)$",
        ),
        (
            "<domxml-lint-host-snapshot version='2.0'>",
            "",
            r"b.xml:1: snapshot version '2.0' is not one domxml-lint knows \(versions 1, 2 and 3\)",
        ),
        (
            "<domxml-lint-host-snapshot version='1'>",
            "\n<domain type='kvm'/>",
            r"b.xml:2: <domain> does not belong in a version 1 host snapshot",
        ),
        (
            "<domxml-lint-host-snapshot version='2'>",
            "\n<domain type='kvm'/>",
            r"b.xml:2: <domain> does not belong in a version 2 host snapshot \(a snapshot holds "
            r"<system>, <capabilities>, <domainCapabilities>, <device> only\)",
        ),
        (
            "<domxml-lint-host-snapshot version='1'>",
            "\n<system/>",
            r"b.xml:2: <system> does not belong in a version 1 host snapshot \(<system> came "
            r"with snapshot version 2: write version='2'\)",
        ),
        (
            "<domxml-lint-host-snapshot version='2'>",
            "<system/>\n<system/>",
            r"b.xml:2: a second <system>: a snapshot holds the facts of one machine",
        ),
    ],
)
def test_bad_bundles(tmp_path, root, child, expected):
    path = _write(tmp_path, "b.xml", f"{root}{child}\n</domxml-lint-host-snapshot>\n")
    with pytest.raises(InputError, match=expected):
        load_host(path)


def test_an_empty_bundle_is_a_host_that_knows_nothing(tmp_path):
    host = load_host(_write(tmp_path, "b.xml", "<domxml-lint-host-snapshot version='1'/>"))
    assert (
        host.capabilities is None
        and host.cpu_ids is None
        and host.max_vcpus("kvm", None, "q35") is None
    )
    assert host.describe() == (
        "no capabilities, 0 domain capabilities documents, 0 PCI devices, no system facts"
    )
    assert host.system is None and host.libvirt is None and host.qemu_version is None


# -- merging ------------------------------------------------------------------------------------


def test_two_different_versions_of_a_part_are_refused(tmp_path):
    first = _write(tmp_path, "a.xml", SMALL_CAPS)
    second = _write(tmp_path, "b.xml", SMALL_CAPS.replace(">1048576<", ">1048000<"))
    with pytest.raises(InputError) as caught:
        load_host(first, second)
    assert str(caught.value).startswith(
        f"{second}:1: capabilities differs from the one in {first}:1"
    )
    moved = _write(tmp_path, "nic2.xml", NIC.replace("<numa node='0'/>", "<numa node='1'/>"))
    with pytest.raises(InputError, match=r"PCI device 0000:3b:00.0 \(pci_0000_3b_00_0\) differs"):
        load_host(_write(tmp_path, "nic.xml", NIC), moved)
    # Whitespace and attribute quoting are not differences.
    same = _write(tmp_path, "nic3.xml", NIC.replace("'", '"').replace("\n  <", "\n    <"))
    assert len(load_host(tmp_path / "nic.xml", same).node_devices) == 1


def test_host_from_documents_accepts_bytes_text_and_named_pairs():
    host = host_from_documents(SMALL_CAPS.encode(), NIC, ("live nodedev", NIC.encode()))
    assert host.sources == ("<host document 1>", "<host document 2>", "live nodedev")
    assert len(host.node_devices) == 1
    with pytest.raises(InputError, match=r"^<host document 1>:1: root element is <network>"):
        host_from_documents("<network/>")


# -- how rules and users reach it -----------------------------------------------------------


@rule(
    code="TST901",
    name="hostdev-numa-node",
    severity="info",
    summary="test rule: report each host device's NUMA node",
    needs_host=True,
    triggers=("hostdev",),
)
def hostdev_numa_node(ctx):
    """Reports where each PCI host device sits."""
    for hostdev in ctx.facts.host_devices:
        device = ctx.host.pci_device(hostdev.pci)
        where = "unknown" if device is None else f"node {device.numa_node}"
        yield ctx.finding(hostdev.element, f"{hostdev.pci}: {where}")


def test_a_hostdev_source_address_finds_its_device_through_facts():
    domain = textwrap.dedent("""\
        <domain type='kvm'>
          <name>vf</name>
          <devices>
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source><address domain='0x0000' bus='0xc1' slot='0x00' function='0x0'/></source>
            </hostdev>
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source><address bus='0x21' slot='0x10' function='0'/></source>
            </hostdev>
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source><address domain='0' bus='0x05' slot='0' function='0'/></source>
            </hostdev>
          </devices>
        </domain>
    """).encode()
    ruleset = RuleSet([hostdev_numa_node])
    linter = Linter([hostdev_numa_node], ruleset, host=load_host(EPYC))
    messages = [f.message for f in linter.check(Document.parse(domain, "vf.xml")).findings]
    assert messages == ["0000:c1:00.0: node 1", "0000:21:10.0: node 0", "0000:05:00.0: unknown"]
    assert Linter([hostdev_numa_node], ruleset, host=None).rules == []  # skipped without a host


def test_package_imports_without_host_or_libvirt_and_exports_load_host_lazily():
    code = (
        "import sys, domxml_lint\n"
        "assert 'domxml_lint.host' not in sys.modules and 'libvirt' not in sys.modules\n"
        "assert 'domxml_lint.live' not in sys.modules\n"
        f"host = domxml_lint.load_host({str(EPYC)!r})\n"
        "assert 'domxml_lint.host' in sys.modules and 'libvirt' not in sys.modules\n"
        "print(len(host.cpu_ids))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"32\n"


# -- the command line ---------------------------------------------------------------------------


def test_cli_host_option_loads_bundles_and_refuses_other_kinds(tmp_path):
    ok = run_cli("--host", str(EPYC), "--host", str(HOSTS / "test-default.xml"), str(CLEAN_DOMAIN))
    assert ok.returncode == 2  # two different hosts' capabilities: refused
    assert (
        ok.stderr.decode().count("\n") == 1
        and "capabilities differs from the one in" in ok.stderr.decode()
    )
    good = run_cli("--host", str(EPYC), str(CLEAN_DOMAIN))
    assert good.returncode == 0, good.stderr
    wrong = run_cli("--host", str(CLEAN_DOMAIN), str(CLEAN_DOMAIN))
    assert wrong.returncode == 2 and wrong.stdout == b""
    err = wrong.stderr.decode()
    assert err.startswith(f"domxml-lint: error: {CLEAN_DOMAIN}:1: root element is <domain>")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_host_show_summarises(tmp_path):
    shown = run_cli("host", "show", str(EPYC))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.decode().splitlines()
    assert lines[0] == (
        "capabilities (x86_64, 2 NUMA cells, 32 CPUs, pages 4K/2M/1G, 8 cache banks), "
        "2 domain capabilities documents, 6 PCI devices, libvirt 10.0.0, no system facts"
    )
    assert (
        "  node 1: CPUs 8-15,24-31; 67107868 KiB; pages 4 KiB x 12582663, 2048 KiB x 4096, "
        "1048576 KiB x 8" in lines
    )
    assert (
        "  PCI 0000:c1:00.0: NUMA node 1, IOMMU group 70, a2d6 (MT42822 BlueField-2 "
        "integrated ConnectX-6 Dx network controller)" in lines
    )
    missing = run_cli("host", "show", str(tmp_path / "nope.xml"))
    assert missing.returncode == 2 and missing.stderr.decode().count("\n") == 1
