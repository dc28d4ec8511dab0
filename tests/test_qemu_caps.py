"""libvirt's QEMU capabilities cache in host snapshots, the flag table, and ``ctx.qemu``."""

from __future__ import annotations

import shutil

import pytest

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.errors import InputError
from domxml_lint.facts import DomainFacts
from domxml_lint.host import build_bundle, host_from_documents, load_host
from domxml_lint.host.qemu_caps import SYSTEM_CACHE, cache_directory, read_cache
from domxml_lint.host.qemu_flags import FLAGS, flag_by_version
from domxml_lint.qemu_support import qemu_support
from domxml_lint.versions import Version, Versions
from helpers import HOSTS, require_libvirt, run_cli

CACHE = HOSTS / "qemucaps-el-8.1.xml"


def _caps(body: str, *, emulator: str = "/usr/bin/qemu-system-x86_64", arch: str = "x86_64",
          version: str = "9001000", selfvers: str = "10007000") -> str:  # fmt: skip
    return (
        f"<qemuCaps>\n  <emulator>{emulator}</emulator>\n  <selfvers>{selfvers}</selfvers>\n"
        f"{body}\n  <version>{version}</version>\n  <arch>{arch}</arch>\n</qemuCaps>\n"
    )


def _facts(xml: str) -> DomainFacts:
    return DomainFacts(Document.parse(xml.encode(), "guest.xml"))


def _guest(arch: str = "x86_64", emulator: str | None = None, virt_type: str = "kvm") -> str:
    devices = f"<devices><emulator>{emulator}</emulator></devices>" if emulator else ""
    return (
        f"<domain type='{virt_type}'><name>g</name><memory>1048576</memory>"
        f"<os><type arch='{arch}' machine='q35'>hvm</type></os>{devices}</domain>"
    )


# -- the cache document ------------------------------------------------------------------------


def test_a_cache_file_loads_as_a_host_with_its_flags_models_and_machines():
    host = load_host(CACHE)
    (caps,) = host.qemu_capabilities
    assert caps.emulator == "/usr/libexec/qemu-kvm" and caps.arch == "x86_64"
    assert caps.version == Version(8, 1, 0) and caps.libvirt_version == Version(10, 7, 0)
    assert "virtio-scsi-pci" in caps.flags and "lsi" not in caps.flags
    assert "EPYC-Rome" in caps.models_for("kvm") and caps.models_for("qemu") is not None
    q35 = caps.machine("q35", "kvm")
    assert q35 is not None and q35.name == "pc-q35-8.1" and q35.default_ram_id == "pc.ram"
    assert q35.acpi is True and q35.max_cpus == 1024
    default = caps.machine(None, "qemu")
    assert default is not None and default.name == "pc-i440fx-8.1" and default.accel == "tcg"
    assert "1 QEMU capabilities document" in host.describe()


@pytest.mark.parametrize(
    "body, message",
    [
        ("<flag/>", "<flag> without a name"),
        ("<machine type='kvm' maxCpus='many' name='pc'/>", "maxCpus='many'"),
    ],
)
def test_a_malformed_cache_document_is_refused_with_its_line(body, message):
    with pytest.raises(InputError, match=message) as caught:
        host_from_documents(("cache.xml", _caps("  " + body)))
    assert caught.value.line == 4


def test_a_version_libvirt_never_writes_is_refused():
    with pytest.raises(InputError, match="no number"):
        host_from_documents(("cache.xml", _caps("", version="9.1")))


def test_the_same_binary_described_twice_differently_is_a_conflict():
    one = _caps("  <flag name='lsi'/>")
    other = _caps("  <flag name='megasas'/>")
    with pytest.raises(InputError, match="QEMU capabilities of /usr/bin/qemu-system-x86_64"):
        host_from_documents(("a.xml", one), ("b.xml", other))
    assert len(host_from_documents(("a.xml", one), ("b.xml", one)).qemu_capabilities) == 1


# -- bundles ----------------------------------------------------------------------------------


def test_a_bundle_with_qemu_caps_is_version_3_and_one_without_stays_2():
    caps = _caps("  <flag name='lsi'/>")
    with_caps = build_bundle(["<capabilities/>", caps])
    assert b"<domxml-lint-host-snapshot version='3'>" in with_caps
    host = host_from_documents(("bundle.xml", with_caps))
    assert host.qemu_capabilities[0].flags == frozenset({"lsi"})
    assert b"version='2'" in build_bundle(["<capabilities/>"])


def test_a_version_2_bundle_holding_qemu_caps_says_which_version_does():
    bundle = "<domxml-lint-host-snapshot version='2'>" + _caps("") + "</domxml-lint-host-snapshot>"
    with pytest.raises(InputError, match=r"came with snapshot version 3: write version='3'"):
        host_from_documents(("old.xml", bundle))


# -- which binary runs the guest -------------------------------------------------------------


def test_the_guests_emulator_picks_its_binary_and_an_unknown_one_picks_none():
    host = host_from_documents(
        ("x.xml", _caps("")),
        ("kvm.xml", _caps("", emulator="/usr/libexec/qemu-kvm")),
        ("i386.xml", _caps("", emulator="/usr/bin/qemu-system-i386", arch="i686")),
    )
    assert host.qemu_caps_for("x86_64", "/usr/libexec/qemu-kvm").emulator.endswith("qemu-kvm")
    assert host.qemu_caps_for("x86_64", "/opt/qemu/bin/qemu") is None
    assert host.qemu_caps_for("x86_64", None) is None  # two x86_64 binaries: which one?
    assert host.qemu_caps_for("i686", None).arch == "i686"


def test_without_a_binary_of_its_own_an_i686_guest_runs_on_the_x86_64_one():
    host = host_from_documents(("x.xml", _caps("")))
    assert host.qemu_caps_for("i686", None).arch == "x86_64"
    assert host.qemu_caps_for("aarch64", None) is None


def test_the_capabilities_name_the_binary_for_the_arch():
    capabilities = """<capabilities><host><cpu><arch>x86_64</arch></cpu></host>
      <guest><os_type>hvm</os_type><arch name='x86_64'><wordsize>64</wordsize>
      <emulator>/usr/libexec/qemu-kvm</emulator><domain type='kvm'/></arch></guest>
    </capabilities>"""
    host = host_from_documents(capabilities, _caps(""), _caps("", emulator="/usr/libexec/qemu-kvm"))
    assert host.qemu_caps_for(None, None).emulator == "/usr/libexec/qemu-kvm"


# -- the flag table ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag, version, arch, has",
    [
        ("virtio-sound", Version(8, 1), "x86_64", False),  # added in 8.2
        ("virtio-sound", Version(8, 2), "x86_64", None),  # a device a build may leave out
        ("acpi-index", Version(5, 2), "aarch64", False),
        ("acpi-index", Version(6, 0), "aarch64", True),
        ("s390-sclp", Version(9, 1), "x86_64", False),  # s390 only
        ("s390-sclp", Version(9, 1), "s390x", True),
        ("s390-sclp", None, "x86_64", False),  # the arch alone decides
        ("vt82c686b-usb-uhci", Version(6, 0), "x86_64", False),  # removed from x86 in 6.0
        ("vt82c686b-usb-uhci", Version(5, 2), "x86_64", None),
        ("blockdev.nbd.tls-hostname", Version(6, 2, 92), "x86_64", None),  # 7.0's rc
        ("blockdev.nbd.tls-hostname", Version(6, 2, 92), "x86_64", None),
        ("virtio-mem-pci.dynamic-memslots", Version(6, 2, 92), "x86_64", False),
        ("lsi", None, "x86_64", None),
        ("not-a-flag", Version(9, 1), "x86_64", None),
        # the peripheral and IOMMU flags of the last class C checks
        ("iothread.thread-pool-max", Version(7, 0), "x86_64", False),  # added in 7.1
        ("iothread.thread-pool-max", Version(7, 1), "aarch64", True),  # every build
        ("pvpanic-pci", Version(5, 2), "aarch64", False),  # added in 6.0
        ("pvpanic-pci", Version(6, 0), "aarch64", None),  # a build may leave it out
        ("virtio-iommu.boot-bypass", Version(6, 2), "x86_64", False),
        ("intel-iommu.dma-translation", Version(9, 1), "aarch64", False),  # x86 only
        ("intel-iommu", Version(9, 1), "x86_64", None),
        ("sev-guest-kernel-hashes", Version(6, 1), "x86_64", False),  # added in 6.2
        ("sev-guest-kernel-hashes", Version(9, 1), "s390x", False),
        ("kvm-pit-lost-tick-policy", None, "aarch64", False),  # the arch alone decides
        ("kvm-pit-lost-tick-policy", Version(9, 1), "x86_64", None),  # needs KVM in the build
        ("vhost-vsock", Version(9, 1), "x86_64", None),  # Linux-only
        ("netdev.vhost-vdpa", Version(9, 1), "x86_64", None),  # Linux-only: the cache decides
        ("vhost-scsi", Version(5, 2), "s390x", None),
        ("vhost-user-fs.bootindex", Version(5, 2), "x86_64", False),  # added in 6.0
        ("usb-host.guest-resets-all", Version(5, 2), "x86_64", None),  # libusb
    ],
)
def test_flag_by_version(flag, version, arch, has):
    assert flag_by_version(flag, version, arch).has is has


def test_every_flag_of_the_table_says_what_it_is_in_words():
    for flag in FLAGS.values():
        assert flag.what and not flag.what.endswith("."), flag.name
        assert flag.build is None or flag.build.strip(), flag.name


# -- ctx.qemu: the guest's QEMU -----------------------------------------------------------------


def test_the_snapshots_flags_answer_exactly_whatever_the_version():
    support = qemu_support(_facts(_guest()), load_host(CACHE), Versions())
    assert support.flag("lsi").has is False
    assert "lack 'lsi'" in support.flag("lsi").why
    assert support.flag("virtio-scsi-pci").has is True
    assert support.flag("virtio-sound").has is False  # QEMU 8.1: by the flags too


def test_without_a_snapshot_the_configured_version_answers_through_the_table():
    support = qemu_support(_facts(_guest()), None, Versions(qemu=Version(8, 1)))
    assert support.flag("virtio-sound").has is False
    assert "added in QEMU 8.2" in support.flag("virtio-sound").why
    answer = support.flag("lsi")
    assert answer.has is None and "no host snapshot" in answer.why


def test_a_cache_of_an_older_libvirt_than_the_one_checked_only_counts_what_it_lists():
    old = host_from_documents(("c.xml", _caps("  <flag name='lsi'/>", selfvers="9000000")))
    facts = _facts(_guest())
    newer = qemu_support(facts, old, Versions(libvirt=Version(10, 7)))
    assert newer.flag("lsi").has is True
    assert newer.flag("megasas").has is None  # libvirt 9.0 may not have probed what 10.7 does
    assert newer.flag("s390-sclp").has is False  # the table still knows the arch has none
    same = qemu_support(facts, old, Versions(libvirt=Version(9, 0)))
    assert same.flag("megasas").has is False


def test_a_rule_says_under_verbose_why_it_stayed_silent():
    xml = _guest().replace("</domain>", "<devices><sound model='usb'/></devices></domain>")
    checked = build_linter(select=["DX955"]).check(Document.parse(xml.encode(), "g.xml"))
    assert not checked.findings
    assert any("'usb-audio' unknown" in note for _code, note in checked.notes)


# -- the cache on this machine, and host snapshot ----------------------------------------------


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("qemu:///system", SYSTEM_CACHE),
        ("qemu+unix:///system", SYSTEM_CACHE),
        ("qemu:///embed?root=/srv/vm", "/srv/vm/cache/qemu/capabilities"),
        ("qemu+ssh://kvm-01/system", None),
        ("test:///default", None),
    ],
)
def test_where_libvirt_keeps_the_cache(uri, expected):
    assert cache_directory(uri) == expected


def test_the_session_cache_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_directory("qemu:///session") == str(tmp_path / "libvirt/qemu/capabilities")


def test_reading_a_cache_directory_keeps_qemu_caps_and_says_what_it_skipped(tmp_path):
    shutil.copy(CACHE, tmp_path / "0123.xml")
    (tmp_path / "junk.xml").write_text("<capabilities/>")
    (tmp_path / "broken.xml").write_text("<qemuCaps><flag/></qemuCaps>")
    (tmp_path / "notes.txt").write_text("not a cache file")
    found = read_cache(str(tmp_path))
    assert [name.rsplit("/", 1)[-1] for name, _text in found.documents] == ["0123.xml"]
    assert any("junk.xml skipped: its root is <capabilities>" in n for n in found.notes)
    assert any("broken.xml skipped: <flag> without a name" in n for n in found.notes)
    assert read_cache(str(tmp_path / "none")).notes == (f"no QEMU capabilities cache at "
                                                        f"{tmp_path / 'none'}",)  # fmt: skip


def test_host_snapshot_adds_cache_files_given_with_qemu_caps(tmp_path):
    require_libvirt()
    out = tmp_path / "host.xml"
    done = run_cli(
        "host", "snapshot", "--connect", "test:///default", "--no-facts",
        "--qemu-caps", str(CACHE), "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"1 QEMU capabilities document" in done.stderr
    assert out.read_bytes().startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n"
                                       b"<domxml-lint-host-snapshot version='3'")  # fmt: skip
    host = load_host(out)
    assert host.qemu_capabilities == load_host(CACHE).qemu_capabilities
    shown = run_cli("host", "show", str(out))
    assert b"QEMU capabilities: /usr/libexec/qemu-kvm (QEMU 8.1.0, x86_64" in shown.stdout


def test_host_snapshot_refuses_a_qemu_caps_file_that_is_not_one(tmp_path):
    require_libvirt()
    wrong = tmp_path / "wrong.xml"
    wrong.write_text("<capabilities/>")
    done = run_cli(
        "host", "snapshot", "--connect", "test:///default", "--no-facts",
        "--qemu-caps", str(wrong), "-o", str(tmp_path / "out.xml"),
    )  # fmt: skip
    assert done.returncode == 2
    assert b"--qemu-caps: " in done.stderr and b"not <qemuCaps>" in done.stderr
    assert not (tmp_path / "out.xml").exists()


def test_a_usb_controller_without_model_needs_a_model_libvirt_can_pick():
    """usb-controller-invalid (DX672): with none of the USB controllers libvirt chooses
    from in the guest's QEMU, a controller written without a model keeps none."""
    guest = _guest().replace(
        "</domain>", "<devices><controller type='usb' index='0'/></devices></domain>"
    )
    doc = Document.parse(guest.encode(), "g.xml")
    bare = host_from_documents(("c.xml", _caps("  <flag name='virtio-scsi-pci'/>")))
    (finding,) = build_linter(select=["DX672"], host=bare).check(doc).findings
    assert finding.message.startswith("no model provided for USB controller: ")
    assert "have none of 'qemu-xhci', 'nec-usb-xhci'" in finding.message
    with_xhci = host_from_documents(("c.xml", _caps("  <flag name='qemu-xhci'/>")))
    assert not build_linter(select=["DX672"], host=with_xhci).check(doc).findings


def test_cpu_models_unknown_for_the_guests_binary_leave_a_note():
    guest = _guest().replace(
        "</domain>",
        "<cpu mode='custom'><model fallback='forbid'>EPYC</model></cpu></domain>",
    )
    doc = Document.parse(guest.encode(), "g.xml")
    other = host_from_documents(("c.xml", _caps("", emulator="/opt/qemu", arch="aarch64")))
    checked = build_linter(select=["DX153"], host=other).check(doc)
    assert not checked.findings
    assert any("holds no QEMU capabilities of the x86_64 QEMU" in n for _c, n in checked.notes)
    modelless = host_from_documents(("c.xml", _caps("")))
    checked = build_linter(select=["DX153"], host=modelless).check(doc)
    assert any("list none for kvm" in note for _code, note in checked.notes)
