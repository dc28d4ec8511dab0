"""Real libvirt for proofs that libvirt refuses XML: its test driver (test:///default) and
its QEMU driver embedded in the test process (``embedded``, one per process: libvirt
opens only one embedded QEMU root per process, so every module shares this fixture).

The binding is optional: tests skip without it, except under CI=true where they
fail (a CI job that cannot prove anything must not pass silently).
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from lxml import etree

from helpers import IN_CI

TEST_URI = "test:///default"


def import_libvirt():
    """The libvirt module, or skip (fail under CI) when libvirt-python is missing."""
    try:
        import libvirt
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"CI=true but libvirt-python is not importable: {exc}")
        pytest.skip("libvirt-python is not installed (pip install 'domxml-lint[libvirt]')")
    return libvirt


@pytest.fixture(scope="session")
def libvirt_conn():
    """A connection to libvirt's test driver; C-level errors are kept off stderr."""
    libvirt = import_libvirt()
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open(TEST_URI)
    try:
        yield conn
    finally:
        conn.close()


def as_test_driver(data: bytes) -> str:
    """The domain rewritten for the test driver: ``type='test'`` and an ``<os><type>``.

    Only the domain type (and a missing OS type, which every driver needs)
    changes, so libvirt's driver-independent checks see the fixture as written.
    """
    root = etree.fromstring(data)
    root.set("type", "test")
    os_el = root.find("os")
    if os_el is None:
        os_el = etree.SubElement(root, "os")
    os_type = os_el.find("type")
    if os_type is None:
        os_type = etree.SubElement(os_el, "type")
        os_type.text = "hvm"
    if os_type.get("arch") is None:
        os_type.set("arch", "x86_64")
    return etree.tostring(root, encoding="unicode")


def define_error(conn, xml: str, *, validate: bool = True) -> str | None:
    """libvirt's error message when it refuses to define ``xml``, else None.

    ``validate`` adds VIR_DOMAIN_DEFINE_VALIDATE (RelaxNG schema check first).
    A defined domain is undefined again; the test driver keeps state per
    connection, in memory.
    """
    libvirt = import_libvirt()
    flags = libvirt.VIR_DOMAIN_DEFINE_VALIDATE if validate else 0
    try:
        domain = conn.defineXMLFlags(xml, flags)
    except libvirt.libvirtError as exc:
        return exc.get_error_message()
    domain.undefine()
    return None


# -- libvirt's QEMU driver, embedded in this process ------------------------------------


class Embedded:
    """An embedded QEMU driver and the x86 machine types its QEMU calls q35 and pc."""

    def __init__(self, libvirt, conn, root: Path, cpu: int) -> None:
        self.libvirt = libvirt
        self.conn = conn
        self.root = root
        #: The CPU the driver started on.
        self.cpu = cpu
        caps = etree.fromstring(conn.getCapabilities().encode())
        self.machines = {}
        for machine in caps.iterfind("guest/arch[@name='x86_64']/machine"):
            if machine.text in ("q35", "pc") and machine.get("canonical"):
                self.machines[machine.text] = machine.get("canonical")
        if set(self.machines) != {"q35", "pc"}:
            pytest.skip("the embedded QEMU driver offers no x86_64 q35 and pc machines")

    def adapt(self, data: bytes) -> bytes:
        """The fixture for this QEMU: its q35/pc machine version, and an ``<os><type>``.

        A versioned machine this older QEMU lacks becomes the one it has (a q35 stays a
        q35); a fixture without ``<os><type>`` (every driver needs one) gets an x86_64 q35.
        """
        root = etree.fromstring(data)
        os_el = root.find("os")
        if os_el is None:
            os_el = etree.SubElement(root, "os")
        os_type = os_el.find("type")
        if os_type is None:
            os_type = etree.Element("type", arch="x86_64")
            os_type.text = "hvm"
            os_el.insert(0, os_type)
        machine = os_type.get("machine")
        if machine is None or machine == "q35" or machine.startswith("pc-q35-"):
            os_type.set("machine", self.machines["q35"])
        elif machine == "pc" or machine.startswith("pc-i440fx-"):
            os_type.set("machine", self.machines["pc"])
        return etree.tostring(root)

    def define_error(self, xml: str, *, validate: bool) -> str | None:
        """libvirt's message when it refuses ``xml``, else None (the domain is undefined)."""
        flags = self.libvirt.VIR_DOMAIN_DEFINE_VALIDATE if validate else 0
        try:
            domain = self.conn.defineXMLFlags(xml, flags)
        except self.libvirt.libvirtError as exc:
            return exc.get_error_message()
        domain.undefine()
        return None

    def cache_files(self) -> dict[str, int]:
        directory = self.root / "cache" / "qemu" / "capabilities"
        return {p.name: p.stat().st_mtime_ns for p in directory.glob("*.xml")}


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"CI=true but libvirt's embedded QEMU driver cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def embedded(tmp_path_factory):
    libvirt = import_libvirt()
    if os.geteuid() != 0:
        _unavailable("the embedded QEMU driver runs guests as root here: run the tests as root")
    try:
        pwd.getpwnam("libvirt-qemu")
    except KeyError:
        _unavailable("no libvirt-qemu user (useradd --system --user-group libvirt-qemu)")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        _unavailable("/dev/kvm is missing: the fixtures are KVM guests")
    root = tmp_path_factory.mktemp("qemu-embed")
    (root / "etc").mkdir()
    # Guests run as root, who can open /dev/kvm: the probed capabilities stay valid.
    (root / "etc" / "qemu.conf").write_text('user = "root"\ngroup = "root"\n')
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    libvirt.virEventRegisterDefaultImpl()
    # The driver records the host's CPUID when it starts; start it on a known CPU, so that
    # another process started there trusts the capabilities it probes (see the docstring).
    allowed = os.sched_getaffinity(0)
    cpu = min(allowed)
    os.sched_setaffinity(0, {cpu})
    try:
        conn = libvirt.open(f"qemu:///embed?root={root}")
    except libvirt.libvirtError as exc:
        _unavailable(
            f"cannot open qemu:///embed ({exc.get_error_message()}); install "
            "libvirt-daemon-driver-qemu and qemu-system-x86"
        )
    finally:
        os.sched_setaffinity(0, allowed)
    try:
        yield Embedded(libvirt, conn, root, cpu)
    finally:
        conn.close()
