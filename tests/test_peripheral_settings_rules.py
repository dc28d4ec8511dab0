"""The rules and facts of issue 16's last areas, beyond their fixtures: release-dependent
checks, the defaults libvirt fills in, and the small parsers the checks rest on."""

from __future__ import annotations

from functools import partial

import pytest

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.facts import DomainFacts
from domxml_lint.facts.domain_settings import parse_uuid
from domxml_lint.host import load_host
from domxml_lint.rules.dx8_operations.launch_security import base64_decoded_length
from domxml_lint.rules.dx8_operations.sysinfo import bios_date_valid
from domxml_lint.rules.dx9_peripherals.smartcard_redirdev import c_integer
from helpers import HOSTS
from samples import domain

q35 = partial(domain, machine="pc-q35-8.2")


def _messages(xml: str, rule: str, **versions: str) -> list[str]:
    linter = build_linter(select=[rule], **versions)
    return [f.message for f in linter.check(Document.parse(xml.encode(), "t.xml")).findings]


def _facts(xml: str) -> DomainFacts:
    return DomainFacts(Document.parse(xml.encode(), "t.xml"))


TWO_WATCHDOGS = q35(
    devices="<watchdog model='itco' action='reset'/>\n<watchdog model='i6300esb' action='reset'/>"
)


def test_watchdogs_follow_the_libvirt_release():
    """libvirt 9.0 takes one watchdog (proven on 9.0); 9.1 and later take one per model."""
    old = _messages(TWO_WATCHDOGS, "watchdog-actions-conflict", libvirt_version="9.0.0")
    assert old == ["only a single watchdog device is supported (by libvirt before 9.1)"]
    assert _messages(TWO_WATCHDOGS, "watchdog-actions-conflict", libvirt_version="9.1.0") == []
    assert _messages(TWO_WATCHDOGS, "watchdog-actions-conflict") == []


def test_device_relabel_without_label_is_refused_from_10_7_only():
    xml = q35(
        devices="<disk type='file' device='disk'><source file='/a.img'>"
        "<seclabel model='selinux' relabel='yes'/></source>"
        "<target dev='vda' bus='virtio'/></disk>"
    )
    assert _messages(xml, "seclabel-override-invalid", libvirt_version="9.0.0") == []
    assert _messages(xml, "seclabel-override-invalid") == [
        "Cannot specify relabel if label is missing. model=selinux"
    ]


@pytest.mark.parametrize(
    "arch,machine,model",
    [
        ("x86_64", "pc-q35-8.2", "isa"),
        ("aarch64", "virt", "isa"),
        ("ppc64", "pseries", "pseries"),
        ("ppc64le", "pseries-8.2", "pseries"),
        ("s390x", "s390-ccw-virtio", "s390"),
    ],
)
def test_panic_default_model_per_machine(arch, machine, model):
    facts = _facts(domain(devices="<panic/>", arch=arch, machine=machine))
    assert facts.panics[0].model == model
    assert facts.panics[0].written_model is None


@pytest.mark.parametrize(
    "arch,machine,bus",
    [
        ("x86_64", "pc-q35-8.2", "pci"),
        ("x86_64", "pc", "pci"),
        ("s390x", "s390-ccw-virtio-8.2", "ccw"),
        ("aarch64", "virt-8.2", "pci"),
        ("ppc64", "pseries", "pci"),
        ("armv7l", "vexpress-a15", None),
    ],
)
def test_virtio_address_type_per_machine(arch, machine, bus):
    assert _facts(domain(arch=arch, machine=machine)).virtio_address_type == bus


def test_seclabel_relabel_defaults():
    facts = _facts(
        q35(
            "  <seclabel type='static' model='selinux'><label>x</label></seclabel>\n"
            "  <seclabel model='dac'/>\n"
            "  <seclabel type='static' model='apparmor' relabel='yes'><label>y</label></seclabel>"
        )
    )
    assert [(s.type, s.relabel) for s in facts.seclabels] == [
        ("static", False),
        ("dynamic", True),
        ("static", True),
    ]


def test_filesystem_source_by_type():
    facts = _facts(
        q35(
            devices="<filesystem type='block'><source dev='/dev/sdb'/><target dir='a'/>"
            "</filesystem>\n<filesystem type='mount'><source file='/x'/><target dir='b'/>"
            "</filesystem>"
        )
    )
    assert [fs.source for fs in facts.filesystems] == ["/dev/sdb", None]


@pytest.mark.parametrize(
    "text,valid",
    [
        ("01/31/2024", True),
        ("12/31/99", True),
        ("1/1/00", True),
        ("13/01/2024", False),
        ("12/32/2024", False),
        ("12/31/1899", False),
        ("12/31/100", False),
        ("2024-01-31", False),
        ("12/31/2024 ", False),
    ],
)
def test_bios_date(text, valid):
    assert bios_date_valid(text) is valid


def test_uuid_parsing_ignores_dashes_and_case():
    assert parse_uuid("C7A5FDBDEDAF9455926AD65C16DB1809") == parse_uuid(
        "c7a5fdbd-edaf-9455-926a-d65c16db1809"
    )
    assert parse_uuid("c7a5fdbd-edaf-9455-926a") is None
    assert parse_uuid(None) is None


@pytest.mark.parametrize(
    "text,value",
    [("0x08", 8), ("255", 255), ("010", 8), ("-1", -1), ("0", 0), ("0x", None), ("8a", None)],
)
def test_c_integer_reads_like_strtol_base_0(text, value):
    assert c_integer(text) == value


@pytest.mark.parametrize(
    "text,length", [("AAAA", 3), ("AA==", 1), ("AAA=", 2), ("AA AA", 3), ("", 0)]
)
def test_base64_decoded_length(text, length):
    assert base64_decoded_length(text) == length


def test_smbios_sysinfo_mode_without_smbios_sysinfo_names_the_domain():
    xml = domain(
        "  <sysinfo type='fwcfg'><entry name='opt/x/y'>v</entry></sysinfo>",
        os="<os><type arch='x86_64' machine='q35'>hvm</type><smbios mode='sysinfo'/></os>",
        name="web",
    )
    assert _messages(xml, "smbios-sysinfo-invalid") == [
        "Domain 'web' sysinfo are not available: mode='sysinfo' needs a <sysinfo type='smbios'>"
    ]


def test_virtiofs_checks_wait_for_the_common_ones():
    """libvirt reports the first refusal; fmode without mapped comes before virtiofs's own."""
    xml = q35(
        devices="<filesystem type='mount' fmode='644'><driver type='virtiofs'/>"
        "<source dir='/srv'/><target dir='t'/></filesystem>"
    )
    assert _messages(xml, "filesystem-unsupported-by-qemu") == [
        "fmode and dmode must be used with accessmode=mapped"
    ]
    assert _messages(xml, "virtiofs-invalid") == []


def test_capability_rules_stay_silent_without_a_snapshot():
    xml = q35(devices="<rng model='virtio'><backend model='builtin'/></rng>")
    assert _messages(xml, "rng-unsupported") == []


def test_ppc64_without_machine_gets_libvirts_pseries_defaults():
    xml = domain(
        devices="<panic/>\n<panic model='pseries'/>", os="<os><type arch='ppc64'>hvm</type></os>"
    )
    facts = _facts(xml)
    assert facts.panics[0].model == "pseries"
    assert _messages(xml, "panic-invalid") == ["Multiple panic devices with model 'pseries'"]


@pytest.mark.parametrize(
    "attributes,driver,extra",
    [
        (" model='default' multidevs='default'", "", ""),
        (" fmode='0'", " format='none' wrpolicy='default'", ""),
        ("", "", "<binary><sandbox mode='default'/></binary>"),
    ],
)
def test_enum_defaults_are_not_settings(attributes, driver, extra):
    """libvirt stores 'default' (and a zero mode) as unset: no refusal."""
    xml = q35(
        "  <memoryBacking><access mode='shared'/></memoryBacking>",
        devices=f"<filesystem type='mount'{attributes}><driver type='virtiofs'{driver}/>"
        f"<source dir='/srv'/><target dir='t'/>{extra}</filesystem>",
    )
    for rule in ("filesystem-unsupported-by-qemu", "virtiofs-invalid", "filesystem-invalid"):
        assert _messages(xml, rule) == [], rule


def test_empty_filesystem_source_is_present_for_libvirt():
    xml = q35(devices="<filesystem type='mount'><source dir=''/><target dir=''/></filesystem>")
    assert _messages(xml, "filesystem-invalid") == []


def test_armvtimer_without_machine_on_arm_is_virt():
    clock = "  <clock offset='utc'><timer name='armvtimer'/></clock>"
    arm = "<os><type arch='aarch64'>hvm</type></os>"
    assert _messages(domain(clock, os=arm), "timer-invalid") == []
    tcg = domain(clock, os=arm, virt_type="qemu")
    assert _messages(tcg, "timer-invalid") == [
        "Configuring the 'armvtimer' timer is not supported for virtType=qemu arch=aarch64 "
        "machine=None guests"
    ]


def test_genid_is_checked_against_the_guests_domain_capabilities():
    xml = q35("  <genid/>")
    for snapshot, expected in (("epyc-2node.xml", 0), ("qemu-limited-devices.xml", 1)):
        linter = build_linter(select=["genid-unsupported"], host=load_host(HOSTS / snapshot))
        findings = linter.check(Document.parse(xml.encode(), "t.xml")).findings
        assert len(findings) == expected, snapshot
