"""Proof from libvirt's QEMU driver: what a DX9 rule reports, the QEMU driver refuses at define.

libvirt's test driver (tests/test_libvirt_proofs.py) runs only the driver-independent
checks. The QEMU driver runs without a daemon as ``qemu:///embed?root=DIR``; defining a
domain there runs libvirt's QEMU post-parse and validation (qemu_domain.c,
qemu_validate.c) against the QEMU binary installed here. Each case's fixture must make the
rule quote the message and libvirt's QEMU driver refuse the definition with it.

This needs libvirt-python, libvirt's QEMU driver module and ``qemu-system-x86_64``
(``embedded`` in libvirt_helpers.py: it skips without them, and fails under CI=true, whose
machine installs them). Fixtures that name newer machine types than this QEMU knows are
defined with the alias ``q35``.
"""

from __future__ import annotations

import re

import pytest

from domxml_lint.api import build_linter
from domxml_lint.document import Document
from helpers import RULE_FIXTURES

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

#: (rule, fixture, the QEMU driver's message as a regex).
CASES = [
    ("chardev-reconnect-invalid", "trigger-timeout.xml",
     r"chardev reconnect source timeout cannot be '0'"),
    ("chardev-spice-without-spice-graphics", "trigger.xml",
     r"chardev 'spicevmc' not supported without spice graphics"),
    ("serial-target-address-mismatch", "trigger.xml",
     r"Target type 'pci-serial' requires address type 'pci'"),
    ("serial-target-address-mismatch", "trigger-model.xml",
     r"Target model 'pci-serial' requires target type 'pci-serial'"),
    ("serial-target-incompatible-machine", "trigger.xml",
     r"Serial device with target type 'spapr-vio-serial' and target model 'spapr-vty' not "
     r"compatible with guest architecture or machine type"),
    ("console-target-invalid", "trigger-xen.xml", r"unsupported console target type xen"),
    ("graphics-vnc-invalid", "trigger.xml",
     r"VNC password is 12 characters long, only 8 permitted"),
    ("graphics-egl-headless-conflict", "trigger.xml",
     r"multiple OpenGL displays are not supported by QEMU"),
    ("graphics-egl-headless-conflict", "trigger-sdl.xml",
     r"graphics type 'egl-headless' is only supported with one of: 'vnc', 'spice' graphics types"),
    ("graphics-dbus-invalid", "trigger-audio.xml", r"The associated audio is not of 'dbus' kind\."),
    ("graphics-type-unsupported", "trigger.xml", r"rdp graphics are not supported with this QEMU"),
    ("video-primary-invalid", "trigger-secondary.xml",
     r"video type 'vga' is only valid as primary video device"),
    ("video-model-attribute-invalid", "trigger.xml",
     r"video type 'vga' doesn't support multiple 'heads'"),
    ("video-model-attribute-invalid", "trigger-qxl.xml", r"value for 'ram' must be less than"),
    ("video-model-attribute-invalid", "trigger-resolution.xml",
     r"model resolution is not supported"),
    ("video-acceleration-invalid", "trigger.xml",
     r"3d acceleration is supported only with 'virtio' video device"),
    ("video-acceleration-invalid", "trigger-accel2d.xml",
     r"qemu does not support the accel2d setting"),
    ("video-model-unsupported", "trigger.xml",
     r"domain configuration does not support video model 'xen'"),
    ("input-virtio-transitional", "trigger.xml",
     r"virtio \(non-\)transitional models are not supported for input type=keyboard"),
    ("audio-spice-without-spice-graphics", "trigger.xml",
     r"Spice audio is not supported without spice graphics"),
    ("tpm-count-invalid", "trigger.xml", r"only a single TPM non-proxy device is supported"),
    ("shmem-model-options-invalid", "trigger-doorbell.xml",
     r"shmem model 'ivshmem-doorbell' does not support size setting"),
    ("shmem-model-options-invalid", "trigger-plain-server.xml",
     r"shmem model 'ivshmem-plain' is supported only with server option disabled"),
]  # fmt: skip

#: Clean fixtures the QEMU driver accepts at define.
CLEAN = [
    ("chardev-reconnect-invalid", "clean.xml"),
    ("serial-target-address-mismatch", "clean.xml"),
    ("console-target-invalid", "clean.xml"),
    ("video-primary-invalid", "clean.xml"),
    ("video-model-attribute-invalid", "clean.xml"),
    ("input-virtio-transitional", "clean.xml"),
    ("audio-id-invalid", "clean-implicit.xml"),
    ("shmem-model-options-invalid", "clean.xml"),
]


def _as_local_qemu(data: bytes) -> str:
    """The fixture as this host's QEMU takes it: TCG, the machine alias, a small guest."""
    text = data.decode()
    text = re.sub(r"machine='pc-q35-[0-9.]+'", "machine='q35'", text)
    text = re.sub(r"machine='pc-i440fx-[0-9.]+'", "machine='pc'", text)
    return text.replace("<domain type='kvm'>", "<domain type='qemu'>", 1)


@pytest.mark.parametrize("rule,fixture,pattern", CASES, ids=[f"{r}/{f}" for r, f, _ in CASES])
def test_qemu_driver_refuses_what_the_rule_reports(embedded, rule, fixture, pattern):
    data = (RULE_FIXTURES / rule / fixture).read_bytes()
    host = None
    hosts = RULE_FIXTURES / rule / "hosts.txt"
    if hosts.exists():
        from domxml_lint.host import load_host
        from helpers import HOSTS

        host = load_host(*(HOSTS / n.strip() for n in hosts.read_text().split()))
    findings = build_linter(select=[rule], host=host).check(Document.parse(data)).findings
    assert any(re.search(pattern, f.message) for f in findings), [f.message for f in findings]
    error = embedded.define_error(_as_local_qemu(data), validate=False)
    assert error is not None, "libvirt's QEMU driver accepted XML the rule calls invalid"
    assert re.search(pattern, error), f"libvirt said: {error!r}"


@pytest.mark.parametrize("rule,fixture", CLEAN, ids=[f"{r}/{f}" for r, f in CLEAN])
def test_qemu_driver_accepts_the_clean_fixtures(embedded, rule, fixture):
    data = (RULE_FIXTURES / rule / fixture).read_bytes()
    error = embedded.define_error(_as_local_qemu(data), validate=False)
    assert error is None, f"libvirt's QEMU driver refuses a clean fixture: {error}"
